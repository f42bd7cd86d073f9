#!/usr/bin/env bash
# Round trips texts through the built CLIs with every method, every window
# size b in {16,24,32,64,128} and N in {8,16}; checks byte equality and that
# Equal-Info output is exactly windows*b bits; without --shared-data it also
# checks that eqinfo-decode refuses files it must not decode.
# With --m1 it runs the bundled transformer M1 instead (b in {16,32,64,128},
# N in {8,16}, texts cut to 1.5 KB: the kernel is ~10 KB/s).
#
# Texts: without --shared-data, the committed ones (LICENSE, README.md and
# the fixtures in tests/data: many scripts, wiki markup), so the test runs on
# any clone; with --shared-data DIR, real texts nobody tuned for (English web
# text from the C4 sample, Chinese and Korean documents, Wikipedia XML).  A
# missing corpus in DIR exits 77, which ctest reports as skipped.  The run
# without it adds executable bytes, random bytes and an empty file.
# Usage: cli_roundtrip_test.sh BIN_DIR [--m1] [--shared-data DIR]
set -euo pipefail
bin=$1
shift
mode= data=
while [ $# -gt 0 ]; do
  case $1 in
    --m1) mode=--m1; shift ;;
    --shared-data) data=$2; shift 2 ;;
    *) echo "usage: $0 BIN_DIR [--m1] [--shared-data DIR]" >&2; exit 2 ;;
  esac
done
root=$(cd "$(dirname "$0")/.." && pwd)
model="$root/models/static_en_train.json"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ -n "$data" ]; then
  for f in c4_sample30_olmo_testfixture.jsonl.gz multilingual_ko_zh.jsonl.gz enwik8_head_4154064B.xml.gz; do
    if [ ! -f "$data/$f" ]; then echo "skipped: $data/$f not found (shared corpora absent)"; exit 77; fi
  done
  python3 - "$data" "$work" <<'PY'
import gzip, json, sys
data, work = sys.argv[1], sys.argv[2]
def take(name, out, lang=None, limit=20000):
    text = b""
    for line in gzip.open(f"{data}/{name}", "rt", encoding="utf-8"):
        d = json.loads(line)
        if lang and d.get("lang") != lang:
            continue
        text += d["text"].encode("utf-8") + b"\n"
        if len(text) >= limit:
            break
    open(f"{work}/{out}", "wb").write(text[:limit])
take("c4_sample30_olmo_testfixture.jsonl.gz", "english.txt")
take("multilingual_ko_zh.jsonl.gz", "chinese.txt", "zh")
take("multilingual_ko_zh.jsonl.gz", "korean.txt", "ko")
open(f"{work}/wiki.xml", "wb").write(gzip.open(f"{data}/enwik8_head_4154064B.xml.gz").read(20000))
PY
  texts=(english.txt chinese.txt korean.txt wiki.xml)
else
  cp "$root/LICENSE" "$work/english.txt"
  cp "$root/README.md" "$work/readme.md"
  cp "$root/tests/data/multilingual.txt" "$root/tests/data/markup.xml" "$work/"
  head -c 20000 "$bin/eqinfo-encode" >"$work/program.bin"
  head -c 8000 /dev/urandom >"$work/random.bin"
  : >"$work/empty.txt"
  texts=(english.txt readme.md multilingual.txt markup.xml program.bin random.bin empty.txt)
fi
# Named one by one, not globbed: a pattern that matched nothing would be
# passed on as a file name.
files=()
for t in "${texts[@]}"; do files+=("$work/$t"); done

failures=0
checks=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# Fields of the last encode's --stats-json object, space-separated.
stat_fields() {
  python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); print(*(s[k] for k in sys.argv[2:]))' "$work/stats.json" "$@"
}

roundtrip() {  # file, then encode flags
  local file=$1; shift
  local model_flag=()
  for a in "$@"; do case $a in --model=*) model_flag=("$a");; esac; done
  checks=$((checks + 1))
  if ! "$bin/eqinfo-encode" -f "$@" --stats-json "$work/stats.json" "$file" "$work/t.tok" 2>"$work/err"; then fail "encode $* $file"; cat "$work/err" >&2; return; fi
  if ! "$bin/eqinfo-decode" -f "${model_flag[@]}" "$work/t.tok" "$work/t.out" 2>"$work/err"; then fail "decode $* $file"; cat "$work/err" >&2; return; fi
  cmp -s "$file" "$work/t.out" || fail "round trip differs: $* $file"
  # Equal-Info: the token stream is exactly the windows' bits, zero-padded to a token.
  local b n windows tokens
  b=$(printf '%s\n' "$@" | sed -n 's/^--window-bits=//p')
  n=$(printf '%s\n' "$@" | sed -n 's/^--token-bits=//p')
  if [ -n "$b" ]; then
    read -r windows tokens < <(stat_fields windows tokens)
    [ "$tokens" -eq $(( (windows * b + n - 1) / n )) ] || fail "token count $tokens != ceil($windows*$b/$n): $* $file"
    [ "$windows" -ge 1 ] || fail "no windows: $* $file"
  fi
}

# --threads over the documents of a JSON Lines corpus made of the texts: the
# same token file and the same statistics as one thread.
threads_match() {  # encode flags, as one word
  if [ ! -f "$work/docs.jsonl" ]; then
    python3 - "$work/docs.jsonl" "${files[@]}" <<'PY'
import json, sys
with open(sys.argv[1], "w") as out:
    for path in sys.argv[2:]:
        text = open(path, "rb").read().decode("utf-8", "replace")
        for i in range(0, max(len(text), 1), 700):  # several documents per text, an empty one too
            out.write(json.dumps({"text": text[i:i + 700]}) + "\n")
PY
  fi
  checks=$((checks + 1))
  # shellcheck disable=SC2086
  "$bin/eqinfo-encode" -f --input-format jsonl $1 --threads 1 --stats-json "$work/s1.json" "$work/docs.jsonl" "$work/t1.tok" &&
    "$bin/eqinfo-encode" -f --input-format jsonl $1 --threads 3 --stats-json "$work/s3.json" "$work/docs.jsonl" "$work/t3.tok" &&
    cmp -s "$work/t1.tok" "$work/t3.tok" && cmp -s "$work/s1.json" "$work/s3.json" || fail "--threads 3 differs from --threads 1: $1"
}

if [ "$mode" = --m1 ]; then
  m1="m1:$root/models/m1-3m.safetensors"
  for file in "${files[@]}"; do
    head -c 1500 "$file" >"$work/cut" && mv "$work/cut" "$file"
    for n in 8 16; do
      for b in 16 32 64 128; do
        roundtrip "$file" --method=equalinfo --window-bits=$b --token-bits=$n --model=$m1
      done
    done
    roundtrip "$file" --method=ac --token-bits=16 --model=$m1
  done
  threads_match "--method=equalinfo --window-bits=16 --model=$m1"  # lockstep groups on 3 threads
  echo "$((checks - failures)) passed, $failures failed"
  [ "$failures" -eq 0 ]
  exit
fi

for file in "${files[@]}"; do
  roundtrip "$file" --method=bytes
  for n in 8 16; do
    roundtrip "$file" --method=gzip --token-bits=$n
    roundtrip "$file" --method=gzip-raw --token-bits=$n
    roundtrip "$file" --method=ac --token-bits=$n --model=uniform
    roundtrip "$file" --method=staticac --token-bits=$n --model=static:$model
    for b in 16 24 32 64 128; do
      roundtrip "$file" --method=equalinfo --window-bits=$b --token-bits=$n --model=static:$model
    done
  done
  roundtrip "$file" --method=equalinfo --window-bits=16 --token-bits=16 --frequency-bits=16 --model=uniform
done

if [ -n "$data" ]; then
  echo "$((checks - failures)) passed, $failures failed"
  [ "$failures" -eq 0 ]
  exit
fi

# Refusals: wrong model, damaged file, settings that break the precision constraint.
head -c 2000 "$work/english.txt" >"$work/english_2k.txt"
"$bin/eqinfo-encode" -f --method=equalinfo --model=static:$model "$work/english.txt" "$work/e.tok"
checks=$((checks + 1))
if "$bin/eqinfo-decode" -f --model=uniform "$work/e.tok" "$work/x" 2>"$work/err"; then fail "decoded with the wrong model"; fi
grep -q "fingerprint" "$work/err" || fail "wrong-model refusal does not say why: $(cat "$work/err")"
checks=$((checks + 1))
head -c 40 "$work/e.tok" >"$work/short.tok"
if "$bin/eqinfo-decode" -f --model=static:$model "$work/short.tok" "$work/x" 2>"$work/err"; then fail "decoded a truncated file"; fi
grep -q "damaged" "$work/err" || fail "truncated-file refusal does not say why: $(cat "$work/err")"
checks=$((checks + 1))
if "$bin/eqinfo-encode" -f --window-bits=12 --frequency-bits=14 --model=uniform "$work/english.txt" "$work/x" 2>"$work/err"; then fail "accepted P > b"; fi
grep -q "frequency bits (P) <= window bits (b)" "$work/err" || fail "P > b refusal does not say why: $(cat "$work/err")"
# The bundled M1 is the default model of equalinfo, on both sides.
checks=$((checks + 1))
"$bin/eqinfo-encode" -f "$work/english_2k.txt" "$work/d.tok" && "$bin/eqinfo-decode" -f "$work/d.tok" "$work/d.out" && cmp -s "$work/english_2k.txt" "$work/d.out" ||
  fail "default-model round trip"
"$bin/eqinfo-decode" -f --model=static:$model "$work/d.tok" "$work/x" 2>/dev/null && fail "default-model tokens decoded with another model"

for method in "--method=equalinfo --model=static:$model" "--method=gzip" "--method=bytes"; do
  threads_match "$method"
done

echo "$((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
