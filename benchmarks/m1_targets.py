#!/usr/bin/env python3
"""Issue 12's compression targets for one or more M1 files, per document and per corpus.

For each model and each text set, EqualInfoAC[b16, v65k] and AC[v65k] (whole documents) through
the package's tokenizers (the C++ core), every document on its own as compression does:
  en    the English validation text of the experiment: the small scale's selection of whole
        validation documents, up to --en-bytes (its 100,000)            target: b16 >= 4.1 bytes/token
  c4    the 30 C4 documents of ../shared/data                          target: b16 >= 4.2 bytes/token
  ko/zh the Korean / Chinese validation documents (docs/data.md)       target: no document > 8 bits/byte
Printed as a table for people; --json writes the same numbers for programs. Needs ../shared/data
(or EQINFO_DATA_DIR); a missing file skips that set, saying so.

    PYTHONPATH=python python3 benchmarks/m1_targets.py --model models/m1-3m.safetensors \\
        --model models/m1-v2.safetensors --threads 2 --json targets.json
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

from eqinfo import data  # noqa: E402
from eqinfo.tokenizers import get_tokenizer  # noqa: E402

C4_FILE = "c4_sample30_olmo_testfixture.jsonl.gz"
METHODS = ("equalinfo-b16-v65k", "ac-v65k")


def text_sets(en_bytes: int) -> dict[str, list[bytes]]:
    sets: dict[str, list[bytes]] = {}
    en = data.default_data_path()
    if en.exists():
        # exactly the experiment's validation text (eqinfo-compress at the small scale)
        from eqinfo.compress import select_documents
        from eqinfo.experiment.scales import SCALES
        sets["en"] = select_documents("val", en, max_bytes=en_bytes, order=SCALES["small"].doc_order)
    else:
        print(f"skipped en: {en} missing", file=sys.stderr)
    c4 = data.default_data_path(C4_FILE)
    if c4.exists():
        sets["c4"] = [t.encode() for t in data.iter_documents(c4, "all")]
    else:
        print(f"skipped c4: {c4} missing", file=sys.stderr)
    multi = data.default_data_path(data.MULTILINGUAL_FILE)
    if multi.exists():
        sets["ko"] = [t.encode() for t in data.iter_documents(multi, "val", data.KOREAN)]
        sets["zh"] = [t.encode() for t in data.iter_documents(multi, "val", data.CHINESE)]
    else:
        print(f"skipped ko/zh: {multi} missing", file=sys.stderr)
    return sets


def measure(model: Path, method: str, docs: list[bytes], threads: int) -> dict:
    tok = get_tokenizer(method, m1=model)
    t0 = time.time()
    streams = tok.encode_batch(docs, threads=threads)
    seconds = time.time() - t0
    bits = [16 * len(s) for s in streams]
    per_doc = [b / len(d) for b, d in zip(bits, docs) if d]
    total_bytes = sum(len(d) for d in docs)
    return {"documents": len(docs), "bytes": total_bytes, "tokens": sum(len(s) for s in streams),
            "bytes_per_token": total_bytes / sum(len(s) for s in streams),
            "bits_per_byte": sum(bits) / total_bytes, "max_document_bits_per_byte": max(per_doc),
            "documents_over_8_bits_per_byte": sum(b > 8 for b in per_doc), "seconds": seconds}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, action="append", required=True)
    ap.add_argument("--en-bytes", type=int, default=100_000)
    ap.add_argument("--sets", default="en,c4,ko,zh")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--threads", type=int, default=1, help="documents in parallel (tokens do not depend on it)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    sets = {k: v for k, v in text_sets(args.en_bytes).items() if k in args.sets.split(",")}
    results = []
    print(f"{'model':28s} {'set':3s} {'method':20s} {'docs':>4s} {'bytes':>8s} {'B/token':>7s} {'bits/B':>6s} "
          f"{'max doc':>7s} {'>8':>3s} {'s':>6s}")
    for model in args.model:
        for name, docs in sets.items():
            for method in args.methods.split(","):
                r = measure(model, method, docs, args.threads)
                r.update(model=str(model), set=name, method=method)
                results.append(r)
                print(f"{model.name:28s} {name:3s} {method:20s} {r['documents']:4d} {r['bytes']:8,d} "
                      f"{r['bytes_per_token']:7.3f} {r['bits_per_byte']:6.3f} {r['max_document_bits_per_byte']:7.3f} "
                      f"{r['documents_over_8_bits_per_byte']:3d} {r['seconds']:6.1f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
