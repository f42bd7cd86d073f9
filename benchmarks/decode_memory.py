#!/usr/bin/env python3
"""Peak memory of eqinfo-decode on a large token file, as a multiple of the text it writes.

    python3 benchmarks/decode_memory.py --bin build-test/bin [--token-mb 200] [--json OUT]

Makes a token file of about --token-mb MB (English from ../shared/data, repeated as needed; or,
without the data, generated words) for each method below, decodes it with eqinfo-decode, and
reads the decoder's peak resident memory from the kernel (wait4's ru_maxrss, the high-water mark
of its RSS). The target of issue 11: under 2x the decoded output. One JSON object per method goes
to --json (and stdout gets the table people read). Equal-Info used to keep one std::string per
window: ~20x the token file.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "en_real_mix.jsonl.gz"

# (label, eqinfo-encode flags): the static model is the committed one, so no M1 time is spent.
METHODS = [
    ("equalinfo b16 N16 static", ["--method=equalinfo", "--window-bits=16", "--token-bits=16",
                                  f"--model=static:{ROOT / 'models/static_en_train.json'}"]),
    ("staticac N16", ["--method=staticac", "--token-bits=16", f"--model=static:{ROOT / 'models/static_en_train.json'}"]),
    ("gzip N16", ["--method=gzip", "--token-bits=16"]),
    ("bytes", ["--method=bytes"]),
]


def documents(target_bytes: int):
    """English documents (repeated) or, without the shared data, generated ones, until target_bytes."""
    produced = 0
    while produced < target_bytes:
        if DATA.exists():
            with gzip.open(DATA, "rt", encoding="utf-8") as f:
                for line in f:
                    text = json.loads(line)["text"]
                    yield text
                    produced += len(text.encode())
                    if produced >= target_bytes:
                        return
        else:
            rng = random.Random(produced)
            words = "the window of equal info tokens decodes with the model alone and nothing else".split()
            text = " ".join(rng.choice(words) for _ in range(400))
            yield text
            produced += len(text)


def run(cmd: list[str]) -> tuple[float, int]:
    """-> (seconds, peak RSS in bytes) of one child process."""
    t0 = time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    err = proc.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(cmd)} failed: {err}")
    return time.time() - t0, usage.ru_maxrss * 1024


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bin", type=Path, default=ROOT / "build-test" / "bin")
    p.add_argument("--token-mb", type=float, default=200.0, help="size of each token file, MB")
    p.add_argument("--json", type=Path, help="write one JSON object per method here")
    args = p.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for label, flags in METHODS:
            # A first guess at the text needed for --token-mb, from a 4 MB sample's ratio.
            sample = tmp / "sample.jsonl"
            with open(sample, "w") as f:
                for d in documents(4 << 20):
                    f.write(json.dumps({"text": d}) + "\n")
            subprocess.run([args.bin / "eqinfo-encode", "-f", *flags, "--input-format=jsonl", sample, tmp / "sample.tok"], check=True)
            ratio = (tmp / "sample.tok").stat().st_size / sample.stat().st_size
            corpus = tmp / "corpus.jsonl"
            with open(corpus, "w") as f:
                for d in documents(int(args.token_mb * 1e6 / ratio)):
                    f.write(json.dumps({"text": d}) + "\n")
            tok = tmp / "corpus.tok"
            enc_s, _ = run([str(args.bin / "eqinfo-encode"), "-f", *flags, "--input-format=jsonl", str(corpus), str(tok)])
            out = tmp / "decoded.txt"
            model = [f for f in flags if f.startswith("--model=")]  # the decoder needs the model again
            dec_s, peak = run([str(args.bin / "eqinfo-decode"), "-f", *model, str(tok), str(out)])
            text_bytes = out.stat().st_size
            row = {"method": label, "token_file_bytes": tok.stat().st_size, "output_bytes": text_bytes,
                   "peak_rss_bytes": peak, "peak_over_output": peak / text_bytes,
                   "peak_over_token_file": peak / tok.stat().st_size, "encode_s": enc_s, "decode_s": dec_s,
                   "data": str(DATA.name) if DATA.exists() else "generated"}
            rows.append(row)
            print(f"{label:28s} token file {row['token_file_bytes'] / 1e6:7.1f} MB  text {text_bytes / 1e6:7.1f} MB  "
                  f"peak RSS {peak / 1e6:7.1f} MB = {row['peak_over_output']:.2f}x text "
                  f"({row['peak_over_token_file']:.2f}x token file); decode {dec_s:.1f} s", flush=True)
            for f in (corpus, tok, out):
                f.unlink()
    if args.json:
        args.json.write_text("".join(json.dumps(r) + "\n" for r in rows))


if __name__ == "__main__":
    main()
