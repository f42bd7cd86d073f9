"""Golden tokens: fixed documents -> the exact tokens of every method, committed in tokens.json.

The file pins what every tokenizer writes, so that a refactoring of the coder, the segmenters,
the chunker, the models or the bindings cannot change a single token unnoticed. Two readers check
it: python/tests/test_golden_tokens.py (every method of the experiment, through the Python API
and the binding, plus the CLI's token files) and tests/golden_tokens_test.cpp (the C++ factory,
per document and as one multi-document stream).

    python3 tests/golden/golden_tokens.py write --bin build/bin    # regenerate (a deliberate change)
    python3 tests/golden/golden_tokens.py check --bin build/bin    # what the tests do

Each case names factory settings (method, b, N, model, P) and, for the experiment's methods, the
registry name. `per_document` holds encode(document) for each document; `stream` the tokens of
eqinfo-encode --input-format jsonl over all documents (one token file: Equal-Info windows and AC
codewords back to back, so tokens straddle documents when N does not divide b). Tokens are
written as 4 hex digits each.

Regenerate only when tokens are meant to change (a new model, a format version), and say so in
the commit: the point of the file is that it does not move.
"""
from __future__ import annotations

import argparse
import json
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DOCUMENTS = HERE / "documents.jsonl"
GOLDEN = HERE / "tokens.json"
# The bundled models (models/bundled.json): the method names' defaults, so the goldens pin the
# tokens users get. A new bundled model is a deliberate `golden_tokens.py write`; the golden file
# records these paths, and the C++ test reads them from it.
_BUNDLED = json.loads((REPO / "models" / "bundled.json").read_text())
MODEL_FILES = {"m1": f"models/{_BUNDLED['m1']}", "static": f"models/{_BUNDLED['static']}"}

# Factory settings beyond the experiment's 18 methods: other b, N, P and models, so that every
# template the factory instantiates is pinned, not only the ones the experiment uses.
EXTRA_CASES = [
    {"method": "equalinfo", "window_bits": 12, "token_bits": 12, "model": "static", "frequency_bits": 12},
    {"method": "equalinfo", "window_bits": 16, "token_bits": 16, "model": "static"},
    {"method": "equalinfo", "window_bits": 16, "token_bits": 5, "model": "m1"},
    {"method": "equalinfo", "window_bits": 48, "token_bits": 16, "model": "m1"},
    {"method": "equalinfo", "window_bits": 24, "token_bits": 16, "model": "uniform", "frequency_bits": 16},
    {"method": "ac", "window_bits": 0, "token_bits": 16, "model": "uniform"},
    {"method": "ac", "window_bits": 0, "token_bits": 7, "model": "static"},
    {"method": "gzip-raw", "window_bits": 0, "token_bits": 16, "model": "none"},
    {"method": "gzip-raw", "window_bits": 0, "token_bits": 8, "model": "none"},
]


def documents() -> list[bytes]:
    with open(DOCUMENTS, encoding="utf-8") as f:
        return [json.loads(line)["text"].encode("utf-8") for line in f]


def hex_tokens(tokens) -> str:
    return "".join(f"{int(t):04x}" for t in tokens)


def model_spec(kind: str) -> str:
    return "uniform" if kind in ("uniform", "none") else f"{kind}:{REPO / MODEL_FILES[kind]}"


def registry_cases() -> list[dict]:
    sys.path.insert(0, str(REPO / "python"))
    from eqinfo.registry import METHODS
    cases = []
    for name, m in METHODS.items():
        if m.factory is None:  # SentencePiece: not a C++ method
            cases.append({"name": name, "method": "sentencepiece"})
            continue
        cases.append({"name": name, "method": m.factory, "window_bits": m.b or 0,
                      "token_bits": m.N or 8, "model": m.model or "none"})
    return cases


def case_id(case: dict) -> str:
    if "name" in case:
        return case["name"]
    p = f"-p{case['frequency_bits']}" if "frequency_bits" in case else ""
    b = f"-b{case['window_bits']}" if case["window_bits"] else ""
    return f"{case['method']}{b}-n{case['token_bits']}-{case['model']}{p}"


def per_document(case: dict, docs: list[bytes]) -> list[str]:
    """encode(document) for each document, through the factory settings (the binding)."""
    if case["method"] == "sentencepiece":
        return by_name(case["name"], docs)
    import _eqinfo_core
    tok = _eqinfo_core.CoreTokenizer(case["method"], window_bits=case["window_bits"] or 16,
                                     token_bits=case["token_bits"], model=model_spec(case["model"]),
                                     frequency_bits=case.get("frequency_bits"))
    return [hex_tokens(tok.encode(d)) for d in docs]


def by_name(name: str, docs: list[bytes]) -> list[str]:
    """encode(document) for each document, through the Python API's method name."""
    sys.path.insert(0, str(REPO / "python"))
    from eqinfo.tokenizers import get_tokenizer
    tok = get_tokenizer(name)
    return [hex_tokens(tok.encode(d)) for d in docs]


def cli_stream(case: dict, bin_dir: Path) -> str:
    """eqinfo-encode over documents.jsonl: the tokens of its token file (docs/formats.md)."""
    args = [str(bin_dir / "eqinfo-encode"), "--input-format", "jsonl", "--method", case["method"],
            "--token-bits", str(case["token_bits"])]
    if case["window_bits"]:
        args += ["--window-bits", str(case["window_bits"])]
    if case["model"] != "none":
        args += ["--model", model_spec(case["model"])]
    if "frequency_bits" in case:
        args += ["--frequency-bits", str(case["frequency_bits"])]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "golden.tok"
        subprocess.run(args + [str(DOCUMENTS), str(out)], check=True)
        data = out.read_bytes()
    (count,) = struct.unpack_from("<Q", data, 24)
    return hex_tokens(struct.unpack_from(f"<{count}H", data, 32))


SETTINGS = ("name", "method", "window_bits", "token_bits", "model", "frequency_bits")


def compute(cases: list[dict], bin_dir: Path | None) -> list[dict]:
    """The tokens of each case now: per document through the factory and (named cases) the
    method name, which must agree; the CLI stream where a binary directory is given."""
    docs = documents()
    out = []
    for case in cases:
        settings = {k: case[k] for k in SETTINGS if k in case}
        entry = dict(settings, id=case_id(settings), per_document=per_document(settings, docs))
        if "name" in settings and settings["method"] != "sentencepiece":
            if by_name(settings["name"], docs) != entry["per_document"]:
                raise AssertionError(f"{settings['name']}: the method name and its factory settings give different tokens")
        if settings["method"] != "sentencepiece" and bin_dir is not None:
            entry["stream"] = cli_stream(settings, bin_dir)
        out.append(entry)
    return out


def load() -> dict:
    return json.loads(GOLDEN.read_text())


def differences(bin_dir: Path | None) -> tuple[list[str], int]:
    """Ids of the committed cases whose tokens differ now, and the number of cases checked.
    Without bin_dir the CLI streams are not compared."""
    golden = load()["cases"]
    now = compute(golden, bin_dir)
    bad = []
    for g, n in zip(golden, now):
        if bin_dir is None:
            g = {k: v for k, v in g.items() if k != "stream"}
        if g != n:
            bad.append(g["id"])
    return bad, len(golden)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=["write", "check"])
    ap.add_argument("--bin", type=Path, required=True, help="directory of eqinfo-encode (build/bin)")
    args = ap.parse_args(argv)
    if args.mode == "write":
        cases = compute(registry_cases() + EXTRA_CASES, args.bin)
        golden = {"format": "eqinfo-golden-tokens", "version": 1, "documents": DOCUMENTS.name,
                  "models": MODEL_FILES, "cases": cases}
        GOLDEN.write_text(json.dumps(golden, indent=1) + "\n")
        print(f"wrote {GOLDEN} ({len(cases)} cases)")
        return 0
    bad, n = differences(args.bin)
    print("golden tokens: " + (f"{len(bad)} of {n} cases differ: {', '.join(bad)}" if bad else f"all {n} cases equal"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
