#!/usr/bin/env python3
"""AC with M1 on one long document: time and memory per byte as it grows, and bits/byte of its end.

Issue 12's targets for bounded-context AC (format v2):
  * encode time per byte at 100 KB and 1 MB within 1.3x of that at 10 KB; memory constant;
  * the bits/byte of the last tenth within 5 % of the whole (the model does not degrade with
    length); every size decodes exactly;
  * beside it, xz -9 and zstd -19 on the same bytes.

The document is the English validation split (docs/data.md) joined into one text, cut to each
size at a UTF-8 boundary; without ../shared/data the benchmark says so and stops. Every number
comes from eqinfo-encode / eqinfo-decode run as child processes (CPU time and peak RSS of that
child alone, from wait4), so nothing of this script is measured.

    python3 benchmarks/ac_long_document.py --bin build-test/bin --model models/m1-3m.safetensors \\
        --sizes 10000,100000,1000000 --json out.json
Prints a table for people and, with --json, the same numbers for programs.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))


def run_child(cmd: list[str]) -> dict:
    """Runs cmd; its user+system CPU seconds and peak RSS (bytes), from wait4 on that child."""
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {err}")
    return {"cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss": usage.ru_maxrss * 1024}


def cut_utf8(data: bytes, n: int) -> bytes:
    """The longest prefix of at most n bytes that ends on a character boundary."""
    n = min(n, len(data))
    while n > 0 and n < len(data) and (data[n] & 0xC0) == 0x80:
        n -= 1
    return data[:n]


def long_document(max_bytes: int) -> bytes:
    from eqinfo import data
    path = data.default_data_path()
    if not path.exists():
        sys.exit(f"skipped: the English corpus is not at {path} (set EQINFO_DATA_DIR); nothing measured")
    parts, total = [], 0
    for text in data.iter_documents(path, "val"):
        b = text.encode()
        parts.append(b)
        total += len(b) + 2
        if total >= max_bytes:
            break
    return cut_utf8(b"\n\n".join(parts), max_bytes)


def ac_bits(bin_dir: Path, model: str, text: bytes, tmp: Path, decode: bool) -> dict:
    """Encode (and optionally decode and compare) text as one AC document with N = 16."""
    src, tok, back, stats = tmp / "doc.txt", tmp / "doc.tok", tmp / "doc.out", tmp / "stats.json"
    src.write_bytes(text)
    enc = run_child([str(bin_dir / "eqinfo-encode"), "-f", "--method", "ac", "--model", model, "--input-format", "raw",
                     "--stats-json", str(stats), str(src), "-o", str(tok)])
    s = json.loads(stats.read_text())
    out = {"bytes": len(text), "tokens": s["tokens"], "bits_per_byte": s["bits_per_byte"],
           "encode_cpu_s": enc["cpu_s"], "encode_peak_rss": enc["peak_rss"]}
    if decode:
        dec = run_child([str(bin_dir / "eqinfo-decode"), "-f", "--model", model, str(tok), "-o", str(back)])
        out.update(decode_cpu_s=dec["cpu_s"], decode_peak_rss=dec["peak_rss"], exact=back.read_bytes() == text)
    return out


def baseline_bits(text: bytes, cmd: list[str]) -> float:
    return 8.0 * len(subprocess.run(cmd, input=text, stdout=subprocess.PIPE, check=True).stdout) / len(text)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", type=Path, default=ROOT / "build-test" / "bin")
    ap.add_argument("--model", action="append", required=True, help="an M1 file (repeat to compare)")
    ap.add_argument("--sizes", default="10000,100000,1000000", help="document sizes in bytes")
    ap.add_argument("--no-decode", action="store_true", help="encode only (decode costs as much again)")
    ap.add_argument("--json", type=Path, help="also write the numbers as JSON here")
    args = ap.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    doc = long_document(sizes[-1])
    sizes = [s for s in sizes if s <= len(doc)]
    results = {"document_bytes": len(doc), "sizes": sizes, "models": {},
               "xz_9": baseline_bits(doc, ["xz", "-9", "-c"]), "zstd_19": baseline_bits(doc, ["zstd", "-19", "-c", "-q"])}
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        for model in args.model:
            rows = [ac_bits(args.bin, model, cut_utf8(doc, n), tmp, not args.no_decode) for n in sizes]
            # The last tenth of the largest document, from the bits of it and of its 90 % prefix.
            full = rows[-1]
            head = ac_bits(args.bin, model, cut_utf8(doc, full["bytes"] * 9 // 10), tmp, decode=False)
            last_bits = 16 * full["tokens"] - 16 * head["tokens"]
            results["models"][model] = {"rows": rows, "last_tenth_bits_per_byte": last_bits / (full["bytes"] - head["bytes"])}

    print(f"one English document of {len(doc):,} bytes (validation split, joined); xz -9 {results['xz_9']:.3f}, "
          f"zstd -19 {results['zstd_19']:.3f} bits/byte on all of it")
    for model, r in results["models"].items():
        base = r["rows"][0]["encode_cpu_s"] / r["rows"][0]["bytes"]
        print(f"\n{model}")
        print(f"{'bytes':>10} {'bits/byte':>9} {'enc us/B':>9} {'x 1st':>6} {'enc RSS MB':>10} {'dec us/B':>9} {'dec RSS MB':>10} exact")
        for row in r["rows"]:
            per = row["encode_cpu_s"] / row["bytes"]
            dec = (f"{1e6 * row['decode_cpu_s'] / row['bytes']:9.1f} {row['decode_peak_rss'] / 1e6:10.1f} {row['exact']}"
                   if "decode_cpu_s" in row else "")
            print(f"{row['bytes']:>10,} {row['bits_per_byte']:9.3f} {1e6 * per:9.1f} {per / base:6.2f} "
                  f"{row['encode_peak_rss'] / 1e6:10.1f} {dec}")
        whole = r["rows"][-1]["bits_per_byte"]
        print(f"last tenth {r['last_tenth_bits_per_byte']:.3f} bits/byte vs whole {whole:.3f} "
              f"({100 * (r['last_tenth_bits_per_byte'] / whole - 1):+.1f} %)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
