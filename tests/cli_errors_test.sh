#!/usr/bin/env bash
# The command-line tools refuse what they must not accept, and fail cleanly:
# truncated or damaged gzip corpora, numeric flags that do not fit, model
# paths that are FIFOs or devices, token-file headers with reserved bytes
# set; a failed write (full disk, missing directory) exits non-zero with its
# cause, leaves an earlier output file untouched and no temporary file;
# decoded output beyond the limits, and jsonl output of text that is not
# UTF-8, are refused with nothing written.
# Every check compares the exact first line of stderr ("tool: file: what").
# Usage: cli_errors_test.sh BIN_DIR
set -uo pipefail
bin=$1
root=$(cd "$(dirname "$0")/.." && pwd)
static="$root/models/static_en_train.json"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failures=0
checks=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# refused STATUS MESSAGE COMMAND...: COMMAND exits with STATUS and the first
# line of its stderr is exactly MESSAGE.  (timeout only keeps a regression
# that blocks from hanging the suite; nothing here is timed.)
refused() {
  local status=$1 message=$2
  shift 2
  checks=$((checks + 1))
  timeout 120 "$@" >"$work/stdout" 2>"$work/stderr"
  local rc=$?
  [ "$rc" -eq "$status" ] || fail "exit $rc, expected $status: $*"
  local first
  first=$(head -n 1 "$work/stderr")
  [ "$first" = "$message" ] || fail "$*: message '$first', expected '$message'"
}

# A corpus of 200 JSON lines, gzip with a full flush after each line (so a
# cut after line 100's flush inflates to exactly 100 whole lines), and its
# damaged copies.
python3 - "$work" <<'PY'
import json, sys, zlib
work = sys.argv[1]
z = zlib.compressobj(9, zlib.DEFLATED, 16 + 15)
out, cuts = b"", []
for i in range(200):
    out += z.compress((json.dumps({"text": f"document {i} " * 10}) + "\n").encode()) + z.flush(zlib.Z_FULL_FLUSH)
    cuts.append(len(out))
out += z.flush()
files = {"good": out, "cut": out[:cuts[99]], "no_trailer": out[:-8],
         "bad_crc": out[:-8] + bytes([out[-8] ^ 1]) + out[-7:], "garbage": out + b"garbage"}
for name, data in files.items():
    open(f"{work}/{name}.jsonl.gz", "wb").write(data)
open(f"{work}/text_not_string.jsonl", "w").write('{"text": "a"}\n{"text": 7}\n')
PY

# 1. A truncated or damaged .gz corpus is refused by both tools that read corpora.
truncated="truncated gzip data: the file ends before the stream's end marker and CRC (an incomplete copy?)"
for name in cut no_trailer bad_crc garbage; do
  f="$work/$name.jsonl.gz"
  case $name in
    bad_crc) why="damaged gzip data (zlib: incorrect data check)" ;;
    garbage) why="damaged gzip data: the bytes after gzip member 1 are not a gzip member (zlib: incorrect header check)" ;;
    *) why=$truncated ;;
  esac
  refused 1 "eqinfo-encode: $f: $why" "$bin/eqinfo-encode" -f --method=bytes --input-format=jsonl "$f" "$work/x.tok"
  refused 1 "eqinfo-build-static-model: $f: $why" "$bin/eqinfo-build-static-model" -f "$work/x.json" "$f"
done
# The intact file is read whole: all 200 documents.
checks=$((checks + 1))
"$bin/eqinfo-build-static-model" -f "$work/x.json" "$work/good.jsonl.gz" 2>"$work/stderr" &&
  grep -q "^documents 200, " "$work/stderr" || fail "the intact corpus: $(cat "$work/stderr")"
f="$work/text_not_string.jsonl"
refused 1 "eqinfo-encode: $f:2: not a JSON object with a string field \"text\"" \
  "$bin/eqinfo-encode" -f --method=bytes --input-format=jsonl "$f" "$work/x.tok"

# 2. Numeric flags: decimal digits in the flag's range, nothing else, nothing wrapped.
echo "some text" >"$work/in.txt"
for v in 4294967304 4294967297 -1 +8 " 8" "8 " 0x8 8.0 "" 17 0; do
  refused 2 "eqinfo-encode: --token-bits expects an integer in [1, 16], got '$v'" \
    "$bin/eqinfo-encode" -f --method=gzip "--token-bits=$v" "$work/in.txt" "$work/x.tok"
done
refused 2 "eqinfo-encode: --window-bits expects an integer in [1, 128], got '-1'" \
  "$bin/eqinfo-encode" -f --model=uniform --window-bits -1 "$work/in.txt" "$work/x.tok"
refused 2 "eqinfo-encode: --frequency-bits expects an integer in [1, 16], got '4294967310'" \
  "$bin/eqinfo-encode" -f --model=uniform --frequency-bits=4294967310 "$work/in.txt" "$work/x.tok"
refused 2 "eqinfo-m1-tables: --threads expects an integer in [1, 256], got '4294967297'" \
  "$bin/eqinfo-m1-tables" --model="$root/models/m1-3m.safetensors" --threads=4294967297 00

# 3. A model path must be a regular file: a FIFO blocked the open forever,
# /dev/zero was read until std::bad_alloc (static) or called "truncated" (M1).
mkfifo "$work/fifo"
refused 1 "eqinfo-encode: static model '$work/fifo': is a FIFO, not a regular file" \
  "$bin/eqinfo-encode" -f --method=staticac "--model=static:$work/fifo" "$work/in.txt" "$work/x.tok"
refused 1 "eqinfo-encode: model '$work/fifo': is a FIFO, not a regular file" \
  "$bin/eqinfo-encode" -f "--model=m1:$work/fifo" "$work/in.txt" "$work/x.tok"
refused 1 "eqinfo-encode: static model '/dev/zero': is a character device, not a regular file" \
  "$bin/eqinfo-encode" -f --method=staticac --model=static:/dev/zero "$work/in.txt" "$work/x.tok"
refused 1 "eqinfo-encode: model '/dev/zero': is a character device, not a regular file" \
  "$bin/eqinfo-encode" -f --model=m1:/dev/zero "$work/in.txt" "$work/x.tok"

# 4. The token file's reserved header bytes (11..15) must be zero.
"$bin/eqinfo-encode" -f --method=bytes "$work/in.txt" "$work/good.tok"
refused 2 "eqinfo-decode: --threads expects an integer in [1, 256], got '0'" \
  "$bin/eqinfo-decode" -f --threads=0 "$work/good.tok" "$work/x.out"
for at in 11 15; do
  cp "$work/good.tok" "$work/reserved.tok"
  printf '\001' | dd of="$work/reserved.tok" bs=1 seek=$at conv=notrunc status=none
  refused 1 "eqinfo-decode: $work/reserved.tok: token file is damaged: reserved header bytes are not zero (byte $at)" \
    "$bin/eqinfo-decode" -f "$work/reserved.tok" "$work/x.out"
done

# 5. Atomic output.  A write that fails part way (a file size cap, as a full
# disk would) leaves the earlier output as it was and no temporary file.
head -c 300000 /dev/urandom | base64 >"$work/big.txt"
"$bin/eqinfo-encode" -f --method=bytes "$work/in.txt" "$work/out.tok"
cp "$work/out.tok" "$work/earlier.tok"
refused 1 "eqinfo-encode: $work/out.tok: cannot write: File too large" \
  bash -c 'trap "" XFSZ; ulimit -f 64; exec "$@"' capped "$bin/eqinfo-encode" -f --method=bytes "$work/big.txt" "$work/out.tok"
checks=$((checks + 1))
cmp -s "$work/out.tok" "$work/earlier.tok" || fail "a failed encode changed the earlier output"
checks=$((checks + 1))
leftover=$(find "$work" -name 'out.tok.tmp-*')
[ -z "$leftover" ] || fail "a failed encode left $leftover"
cp "$static" "$work/model.json"
head -c 3000000 /dev/urandom >"$work/random.bin"  # every byte counted ~11700 times: a model file over 1 KB
refused 1 "eqinfo-build-static-model: $work/model.json: cannot write: File too large" \
  bash -c 'trap "" XFSZ; ulimit -f 1; exec "$@"' capped "$bin/eqinfo-build-static-model" -f "$work/model.json" "$work/random.bin"
checks=$((checks + 1))
cmp -s "$work/model.json" "$static" || fail "a failed build-static-model changed the earlier model"
# A full device and a missing directory: exit 1 with the cause (a 0-byte
# "success" before).
refused 1 "eqinfo-build-static-model: /dev/full: cannot write: No space left on device" \
  "$bin/eqinfo-build-static-model" -f /dev/full "$work/good.jsonl.gz"
refused 1 "eqinfo-build-static-model: $work/missing/m.json: cannot create a temporary file in $work/missing: No such file or directory" \
  "$bin/eqinfo-build-static-model" -f "$work/missing/m.json" "$work/good.jsonl.gz"
refused 1 "eqinfo-encode: /dev/full: cannot write: No space left on device" \
  "$bin/eqinfo-encode" -f --method=bytes "$work/in.txt" /dev/full
refused 1 "eqinfo-encode: /dev/full: cannot write: No space left on device" \
  "$bin/eqinfo-encode" -f --method=bytes --stats-json=/dev/full "$work/in.txt" "$work/x.tok"
refused 1 "eqinfo-decode: /dev/full: cannot write: No space left on device" \
  "$bin/eqinfo-decode" -f "$work/good.tok" /dev/full
refused 1 "eqinfo-encode: stdout: cannot write" \
  bash -c 'exec "$@" >/dev/full' to-full "$bin/eqinfo-encode" -f --method=bytes "$work/in.txt" -

# 6. An endless input is named when it no longer fits in memory (a bare
# std::bad_alloc before); the address-space cap makes "no longer" come soon.
# Not under AddressSanitizer (scripts/sanitize.sh): its shadow memory needs
# far more address space than the cap, and it aborts before the tool can fail.
# (ldd's output is taken whole first: under pipefail, `ldd | grep -q` fails
# whenever grep exits at the match before ldd has finished writing.)
if [[ "$(ldd "$bin/eqinfo-encode" 2>/dev/null)" == *libasan* ]]; then
  echo "not checked under AddressSanitizer: the memory cap of check 6"
else
  refused 1 "eqinfo-encode: stdin: does not fit in memory" \
    bash -c 'ulimit -v 300000; exec "$@" </dev/zero' capped "$bin/eqinfo-encode" -f --method=bytes - "$work/x.tok"
fi

# 7. Output limits. A small gzip token file inflates to far more text than
# it holds (a 1 MB file to 1 GiB, with status ok, before): beyond 16 MiB a
# gzip token file may give at most --max-ratio (100) bytes of text per byte.
head -c 40000000 /dev/zero | tr '\0' a >"$work/aaa.txt"
"$bin/eqinfo-encode" -f --method=gzip "$work/aaa.txt" "$work/bomb.tok"
limit=$((16777216 + 100 * $(stat -c %s "$work/bomb.tok")))
echo "earlier" >"$work/decoded.txt"
refused 1 "eqinfo-decode: $work/bomb.tok: the decoded text reached the limit of $limit bytes; nothing was written (--max-output and --max-ratio raise it)" \
  "$bin/eqinfo-decode" -f "$work/bomb.tok" "$work/decoded.txt"
checks=$((checks + 1))
[ "$(cat "$work/decoded.txt")" = "earlier" ] || fail "a refused decode changed the earlier output"
checks=$((checks + 1))
"$bin/eqinfo-decode" -f --max-ratio=5000 "$work/bomb.tok" "$work/decoded.txt" && cmp -s "$work/decoded.txt" "$work/aaa.txt" ||
  fail "--max-ratio 5000 did not decode the 40 MB document"
refused 1 "eqinfo-decode: $work/bomb.tok: the decoded text reached the limit of 1000 bytes; nothing was written (--max-output raises it)" \
  "$bin/eqinfo-decode" -f --max-output=1000 --max-ratio=5000 "$work/bomb.tok" "$work/decoded.txt"
"$bin/eqinfo-encode" -f --method=bytes "$work/big.txt" "$work/big.tok"
refused 1 "eqinfo-decode: $work/big.tok: the decoded text reached the limit of 1000 bytes; nothing was written (--max-output raises it)" \
  "$bin/eqinfo-decode" -f --max-output=1000 "$work/big.tok" -
refused 2 "eqinfo-decode: --max-ratio expects an integer in [1, 4294967296], got '0'" \
  "$bin/eqinfo-decode" -f --max-ratio=0 "$work/big.tok" -

# 8. Text that is not UTF-8 is never altered silently: jsonl output (JSON
# holds Unicode only) is refused, naming the document and byte; raw keeps it
# byte for byte. (It became U+FFFD with exit 0 before.)
printf 'ab\377cd' >"$work/latin.txt"
"$bin/eqinfo-encode" -f --method=bytes "$work/latin.txt" "$work/latin.tok"
refused 1 "eqinfo-decode: $work/latin.tok: document 0 is not valid UTF-8 (byte 2), which JSON cannot hold; nothing was written (use --output-format raw)" \
  "$bin/eqinfo-decode" -f --output-format=jsonl "$work/latin.tok" -
checks=$((checks + 1))
[ ! -s "$work/stdout" ] || fail "a refused jsonl decode wrote to stdout"
checks=$((checks + 1))
"$bin/eqinfo-decode" -f "$work/latin.tok" "$work/latin.raw" && cmp -s "$work/latin.raw" "$work/latin.txt" ||
  fail "raw output did not keep the bytes"

# 9. Conventions (issue 13): no silent overwrite, -o, stdin -> stdout, --version and -h, a model
# file recognised by its content, AC's and StaticAC's bundled defaults, both fingerprints named.
echo "Conventions of a command-line tool." >"$work/c.txt"
echo "keep me" >"$work/existing.tok"
refused 2 "eqinfo-encode: $work/existing.tok: exists; use -f to overwrite it" \
  "$bin/eqinfo-encode" --method=bytes "$work/c.txt" "$work/existing.tok"
checks=$((checks + 1))
[ "$(cat "$work/existing.tok")" = "keep me" ] || fail "a refused overwrite changed the file"
refused 2 "eqinfo-encode: $work/existing.tok: exists; use -f to overwrite it" \
  "$bin/eqinfo-encode" --method=bytes "$work/c.txt" -o "$work/existing.tok"
refused 2 "eqinfo-build-static-model: $work/existing.tok: exists; use -f to overwrite it" \
  "$bin/eqinfo-build-static-model" -o "$work/existing.tok" "$work/c.txt"
refused 2 "eqinfo-encode: OUTPUT given twice (as an argument and as -o)" \
  "$bin/eqinfo-encode" --method=bytes "$work/c.txt" "$work/a.tok" -o "$work/b.tok"
refused 2 "eqinfo-encode: unknown option -x" "$bin/eqinfo-encode" -x "$work/c.txt"
refused 2 "eqinfo-encode: model '$root/README.md' is neither an M1 safetensors export nor a static model JSON file (its first bytes are neither); use 'uniform', or m1:PATH / static:PATH to force a kind" \
  "$bin/eqinfo-encode" --model="$root/README.md" "$work/c.txt" -
refused 2 "eqinfo-encode: unknown model '$work/none.safetensors': no such file (expected 'uniform', a model file, 'static:PATH' or 'm1:PATH')" \
  "$bin/eqinfo-encode" --model="$work/none.safetensors" "$work/c.txt" -
version=$(sed -n 's/.*kVersion = "\([0-9.]*\)".*/\1/p' "$root/include/eqinfo/version.hpp")
for tool in eqinfo-encode eqinfo-decode eqinfo-build-static-model eqinfo-m1-tables; do
  checks=$((checks + 1))
  [ "$("$bin/$tool" --version)" = "$tool $version" ] || fail "$tool --version"
  checks=$((checks + 1))
  help=$("$bin/$tool" -h) && [[ "${help%%$'\n'*}" == "usage: $tool"* ]] || fail "$tool -h"
done
checks=$((checks + 1))
[ "$("$bin/eqinfo-encode" --method=bytes <"$work/c.txt" | "$bin/eqinfo-decode")" = "$(cat "$work/c.txt")" ] ||
  fail "stdin -> stdout without file arguments"
# A model path without a prefix is the same model as with one; --method ac uses the bundled M1
# and --method staticac the bundled order-0 model, as the Python package does.
m1="$root/models/$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["m1"])' "$root/models/bundled.json")"
checks=$((checks + 1))
"$bin/eqinfo-encode" --method=ac --model="m1:$m1" "$work/c.txt" -o "$work/ac_prefixed.tok" &&
  "$bin/eqinfo-encode" --method=ac --model="$m1" "$work/c.txt" -o "$work/ac_path.tok" &&
  "$bin/eqinfo-encode" --method=ac "$work/c.txt" -o "$work/ac_default.tok" &&
  cmp -s "$work/ac_prefixed.tok" "$work/ac_path.tok" && cmp -s "$work/ac_prefixed.tok" "$work/ac_default.tok" ||
  fail "--model PATH, m1:PATH and the ac default differ"
checks=$((checks + 1))
"$bin/eqinfo-encode" --method=staticac --model="$static" "$work/c.txt" -o "$work/s_path.tok" &&
  "$bin/eqinfo-encode" --method=staticac "$work/c.txt" -o "$work/s_default.tok" && cmp -s "$work/s_path.tok" "$work/s_default.tok" ||
  fail "--model static.json and the staticac default differ"
# .jsonl is recognised by its name.
printf '{"text": "one"}\n{"text": "two"}\n' >"$work/two.jsonl"
checks=$((checks + 1))
"$bin/eqinfo-encode" --method=bytes "$work/two.jsonl" -o "$work/auto.tok" &&
  "$bin/eqinfo-encode" --method=bytes --input-format=jsonl "$work/two.jsonl" -o "$work/jsonl.tok" && cmp -s "$work/auto.tok" "$work/jsonl.tok" ||
  fail ".jsonl was not auto-detected"
# A fingerprint mismatch names both fingerprints.
"$bin/eqinfo-build-static-model" -o "$work/other.json" "$work/c.txt" 2>/dev/null
"$bin/eqinfo-encode" --method=staticac --model="$work/other.json" "$work/c.txt" -o "$work/u.tok"
checks=$((checks + 1))
"$bin/eqinfo-decode" "$work/u.tok" - >/dev/null 2>"$work/stderr" && fail "decoded uniform tokens with M1"
grep -Eq "refusing to decode '$work/u.tok': model fingerprint is [0-9a-f]{16} in the file but [0-9a-f]{16} here" "$work/stderr" ||
  fail "fingerprint mismatch message: $(cat "$work/stderr")"

echo "$((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
