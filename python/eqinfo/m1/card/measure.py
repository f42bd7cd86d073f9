"""What the model card measures: the bytes/token and bits/byte that eqinfo-encode gives
EqualInfoAC, StaticAC and AC on a prefix of the validation documents (the card's Tokenization
section)."""
from __future__ import annotations

import json
import subprocess
import tempfile
import time
from pathlib import Path

from .inputs import card_stats


def write_val_subset(data_path: Path, n_bytes: int, out_path: Path) -> dict:
    """The first n_bytes UTF-8 bytes of the validation documents (data.is_validation: line i is
    validation iff i % 50 == 0), in file order, as JSONL (field "text"); the last document is cut to
    the budget (at a character boundary, so possibly a few bytes short).
    -> {"documents", "bytes", "cut_last", "sources", "longest_document" (bytes)}."""
    from ...data import iter_records
    total, docs, cut, sources, longest = 0, 0, False, [], 0
    with open(out_path, "w", encoding="utf-8") as f:
        for doc in iter_records(data_path, "val"):
            if total >= n_bytes:
                break
            text = doc["text"]
            b = text.encode("utf-8")
            if total + len(b) > n_bytes:
                text = b[:n_bytes - total].decode("utf-8", errors="ignore")
                b, cut = text.encode("utf-8"), True
            if not b:
                break
            f.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")
            total += len(b)
            docs += 1
            longest = max(longest, len(b))
            if doc.get("source", "?") not in sources:
                sources.append(doc.get("source", "?"))
            if cut:
                break
    return {"documents": docs, "bytes": total, "cut_last": cut, "sources": sources,
            "longest_document": longest}


def run_encode(binary: Path, jsonl: Path, method: str, token_bits: int, model_spec: str,
               window_bits: int = 16, threads: int = 1) -> dict:
    cmd = [str(binary), "--input-format", "jsonl", "--method", method, "--token-bits",
           str(token_bits), "--model", model_spec, "--stats-json", "-"]
    if method == "equalinfo":
        cmd += ["--window-bits", str(window_bits)]
    if model_spec.startswith("m1:"):
        cmd += ["--threads", str(threads)]
    with tempfile.TemporaryDirectory() as td:
        t0 = time.time()
        p = subprocess.run(cmd + [str(jsonl), str(Path(td) / "out.tok")], capture_output=True,
                           text=True)
        dt = time.time() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}")
    st = card_stats(json.loads(p.stdout))
    st["seconds"] = dt
    st["command"] = " ".join(cmd[1:])
    return st


def measure_tokenization(encode_bin: Path | None, data_path: Path, model: Path, static_model: Path,
                         val_bytes: int, ac_bytes: int, threads: int = 1
                         ) -> tuple[dict | None, str | None]:
    """eqinfo-encode over the first `val_bytes` bytes of the validation documents: EqualInfoAC
    b16 and StaticAC at N = 8 and 16, and AC with M1 (beside EqualInfoAC on the same prefix)
    on the first `ac_bytes` of them, as AC's cost is quadratic in the document length.
    -> ({"subset", "prefix", "runs"}, None), or (None, why the section is skipped) when
    there is no eqinfo-encode."""
    if encode_bin is None:
        return None, "no --encode-bin given (build it: see README.md, then pass build/bin/eqinfo-encode)."
    if not encode_bin.exists():
        return None, f"`{encode_bin}` not found (build the C++ tools first, README.md)."
    with tempfile.TemporaryDirectory() as td:
        sub_path, ac_path = Path(td) / "val_subset.jsonl", Path(td) / "val_prefix.jsonl"
        sub = write_val_subset(data_path, val_bytes, sub_path)
        m1, static = f"m1:{model}", f"static:{static_model}"
        plan = [(sub_path, "equalinfo", 8, m1), (sub_path, "equalinfo", 16, m1),
                (sub_path, "staticac", 8, static), (sub_path, "staticac", 16, static)]
        ac_sub = None
        if ac_bytes > 0:
            ac_sub = write_val_subset(data_path, min(ac_bytes, val_bytes), ac_path)
            plan += [(ac_path, "ac", 8, m1), (ac_path, "ac", 16, m1),
                     (ac_path, "equalinfo", 16, m1)]
        runs = []
        for path, method, n, spec in plan:
            st = run_encode(encode_bin, path, method, n, spec, threads=threads)
            st["subset"] = "prefix" if path == ac_path else "subset"
            print(f"[model_card] {method} N={n} on {st['bytes']:,} bytes: "
                  f"{st['bytes_per_token']:.4f} bytes/token, {st['bits_per_byte']:.4f} bits/byte "
                  f"({st['seconds']:.1f} s)", flush=True)
            runs.append(st)
    return {"subset": sub, "prefix": ac_sub, "runs": runs}, None
