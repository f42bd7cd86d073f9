"""The experiment's analyses (paper Fig. 11 and the stability analysis), computed from what the
experiment has: the validation shards, the corpus' validation split and the tokenizers.

KL from uniform (paper Fig. 11), eqinfo.analysis.token_kl. For every method whose validation
shard is a bit stream (eqinfo.registry.Family.bit_stream) -- AC, StaticAC, GZip, EqualInfoAC at
v256 and v65k, and Bytes as a reference (the UTF-8 text itself: its EOS tokens dropped, 8-bit
tokens) -- the stream's first
`max_bits` bits (default KL_MAX_BITS = 2^21 = 256 KiB; all of it at the tiny and small scales)
are cut into non-overlapping n-bit tokens and into overlapping bit n-grams, n = 1..16, and the
plug-in KL(p_hat || uniform) of each is corrected by its mean on `null_draws` uniformly random
streams of the same length (token_kl.kl_profile; the random streams are drawn once per length
and shared by the methods, exactly as kl_profile would draw them with the same seed). The spread
of the null draws (`*_null_sd`) is the noise level: a value within 3 sd of 0 is "as uniform as
random bits of this length". SentencePiece ids (13 bits) are not a bit stream and are left out.
Cost: ~0.15 s per million bits per method (measured), i.e. well under a second per method at
the small scale.

Stability (paper: "the same word maps to many different token sequences depending on
context"), eqinfo.analysis.stability. From the first STABILITY_POOL_BYTES of the validation
split (whole documents), `sentences + prefixes` distinct sentences are drawn
(stability.sentence_prefixes, seed fixed): `sentences` of them are the measured sentences, the
other `prefixes` the preceding contexts. Each sentence is tokenized after every prefix and the
Levenshtein distances between its changed token tails are averaged (stability.stability). Per
method: the mean over sentences of the per-sentence mean distance, its median over sentences,
the same normalised by the tail length, the mean tail length and the fraction of distinct
tails. Methods: Bytes (control: 0), SentencePiece, AC and EqualInfoAC[b16] at v256 and v65k,
those of them in the experiment. M1 methods of one family and window share one encoding at
N = 1 (one token per bit), cut into N-bit tokens as eqinfo.compress does, so v256 and v65k cost
one M1 pass. Cost: M1 runs at ~150-300 us per byte on this machine (AC: more on long texts),
a prefix+sentence is ~300 bytes, so each M1 group costs ~(prefixes + sentences x prefixes) x
~70 ms: STABILITY_COUNTS gives ~25 CPU-s in total at `small` (10 sentences x 12 prefixes),
~3 s at `tiny`.

Caching. Every entry carries a `key`: for KL the validation shard's identity (method,
model_hash, tokens_out, bytes_in) and the settings; for stability the tokenizer's model hash
and a hash of the sentences and prefixes. An entry of the previous results.json with the same
key is reused, so re-rendering recomputes only what changed.
"""
from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

from ..analysis.stability import sentence_prefixes, stability
from ..analysis.token_kl import kl_profile, stream_bits
from ..registry import lookup
from ..shards import read_shard
from .methods import parse_method

ANALYSIS_VERSION = 1

KL_MAX_BITS = 1 << 21
KL_NS = tuple(range(1, 17))
KL_NULL_DRAWS = 8
KL_SEED = 0

STABILITY_METHODS = ("bytes", "sentencepiece", "ac-v256", "ac-v65k", "equalinfo-b16-v256",
                     "equalinfo-b16-v65k")
# scale -> (sentences, prefixes); other scales use "small"'s
STABILITY_COUNTS = {"tiny": (3, 5), "small": (10, 12), "paper-25m": (10, 12)}
STABILITY_POOL_BYTES = 200_000
STABILITY_MAX_CHARS = 300
STABILITY_SEED = 0


def _log(msg: str) -> None:
    print(f"[analyses] {msg}", file=sys.stderr, flush=True)


def _sha(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


# ----------------------------------------------------------------------------- KL (Fig. 11)

def shard_identity(meta: dict, n_tokens: int, text_bytes: int) -> dict:
    """What a shard's content is, for cache keys and run matching: method, model hash, counts."""
    return {"method": meta.get("method"), "model_hash": meta.get("model_hash"),
            "tokens_out": int(n_tokens), "bytes_in": int(text_bytes)}


def kl_stream_bits(tokens: np.ndarray, method: str, max_bits: int) -> tuple[np.ndarray, bool] | None:
    """(the bit stream of a method's tokens, cut to its first max_bits bits; whether it was cut),
    None if the method's tokens are not a bit stream."""
    info = parse_method(method)
    if not info.method.bit_stream:
        return None
    t = np.asarray(tokens)
    if info.family == "bytes":
        t, n = t[t < 256], 8            # the text itself: EOS (256) dropped
    else:
        n = info.token_bits
    keep = max(1, max_bits // n)
    return stream_bits(t[:keep], n), len(t) > keep


class NullProfiles:
    """Plug-in KL of uniformly random bit streams, drawn once per length: the bias correction
    of token_kl.kl_profile (same seed -> the very streams kl_profile would draw), plus its sd."""

    def __init__(self, ns=KL_NS, draws: int = KL_NULL_DRAWS, seed: int = KL_SEED):
        self.ns, self.draws, self.seed = tuple(ns), draws, seed
        self._cache: dict[int, dict] = {}

    def __call__(self, length: int) -> dict:
        if length not in self._cache:
            rng = np.random.default_rng(self.seed)
            profs = [kl_profile(rng.integers(0, 2, size=length, dtype=np.uint8), self.ns,
                                null_draws=0) for _ in range(self.draws)]
            out = {}
            for key in ("tokens", "ngrams"):
                vals = np.array([p[key + "_plugin"] for p in profs]).reshape(self.draws, len(self.ns))
                out[key + "_mean"] = vals.mean(0) if self.draws else np.zeros(len(self.ns))
                out[key + "_sd"] = vals.std(0, ddof=1) if self.draws > 1 else np.zeros(len(self.ns))
            self._cache[length] = out
        return self._cache[length]


def kl_of_bits(bits: np.ndarray, nulls: NullProfiles) -> dict:
    """kl_profile(bits, ns, null_draws, seed) with the null streams shared between calls, and the
    null spread: {"n", "tokens", "ngrams", "tokens_plugin", "ngrams_plugin", "tokens_null_sd",
    "ngrams_null_sd", "bits"} (KL in bits per n-bit value)."""
    p = kl_profile(bits, nulls.ns, null_draws=0)
    null = nulls(len(bits))
    for key in ("tokens", "ngrams"):
        p[key] = [float(r - m) for r, m in zip(p[key + "_plugin"], null[key + "_mean"])]
        p[key + "_null_sd"] = [float(s) for s in null[key + "_sd"]]
    return p


def kl_analysis(methods: list[str], shards: Path, previous: dict | None = None, *,
                max_bits: int = KL_MAX_BITS, ns=KL_NS, null_draws: int = KL_NULL_DRAWS,
                seed: int = KL_SEED) -> dict:
    """KL profile of every bit-stream method's validation shard (module docstring)."""
    settings = {"max_bits": int(max_bits), "ns": [int(n) for n in ns], "null_draws": null_draws,
                "seed": seed, "version": ANALYSIS_VERSION}
    prev = ((previous or {}).get("methods") or {})
    nulls = NullProfiles(ns, null_draws, seed)
    out = {"settings": settings, "methods": {}}
    for m in methods:
        info = parse_method(m)
        if not info.method.bit_stream or info.preset:   # a sweep run has its stream's profile
            continue
        path = shards / "val" / f"{m}.shard"
        if not path.exists():
            continue
        va = read_shard(path, check_tokens=False)
        key = {"val": shard_identity(va.meta, va.n_tokens, va.text_bytes), **settings}
        if m in prev and prev[m].get("key") == key:
            out["methods"][m] = prev[m]
            continue
        t0 = time.perf_counter()
        bits, capped = kl_stream_bits(va.tokens, m, max_bits)
        if len(bits) < 2 * max(ns):
            continue
        entry = {"key": key, **kl_of_bits(bits, nulls), "capped": capped}
        entry["seconds"] = round(time.perf_counter() - t0, 3)
        out["methods"][m] = entry
    return out


# ----------------------------------------------------------------------------- stability

def validation_texts(data_path: Path | None = None, pool_bytes: int = STABILITY_POOL_BYTES) -> list[str]:
    """The first whole documents of the validation split, up to pool_bytes of UTF-8 (at least one)."""
    from .. import data
    texts, total = [], 0
    for t in data.iter_documents(data_path, "val"):
        n = len(t.encode("utf-8"))
        if texts and total + n > pool_bytes:
            break
        texts.append(t)
        total += n
    return texts


def pick_sentences(texts: list[str], sentences: int, prefixes: int, seed: int = STABILITY_SEED,
                   max_chars: int = STABILITY_MAX_CHARS) -> tuple[list[str], list[str]]:
    """(measured sentences, prefixes): sentences + prefixes distinct sentences of the texts, split
    at random (seeded). Prefixes end with ". "; a measured sentence ends with its full stop."""
    pool = sentence_prefixes(texts, sentences + prefixes, seed=seed, max_chars=max_chars)
    order = np.random.default_rng(seed + 1).permutation(len(pool))
    return [pool[i].rstrip() for i in order[:sentences]], [pool[i] for i in order[sentences:]]


def method_encoders(methods: list[str], **models) -> dict[str, tuple[Callable, str | None]]:
    """{method: (encode, model_hash)}. M1 methods of one family and window share one N = 1
    encoding (memoised per text) cut into N-bit tokens exactly as eqinfo.compress does."""
    from ..compress import chunk_bits
    from ..tokenizers import Tokenizer, get_tokenizer
    out, groups = {}, {}
    for m in methods:
        spec = lookup(m)
        if not spec.uses_m1:
            tok = get_tokenizer(m, **models)
            out[m] = (tok.encode, tok.model_hash)
            continue
        gkey = (spec.factory, spec.b)
        if gkey not in groups:
            bit_tok = Tokenizer(spec, token_bits=1, m1=models.get("m1"))
            memo: dict[str, np.ndarray] = {}

            def bits_of(text, _tok=bit_tok, _memo=memo):
                if text not in _memo:
                    _memo[text] = _tok.encode(text)
                return _memo[text]
            groups[gkey] = (bits_of, bit_tok.model_hash)
        bits_of, h = groups[gkey]
        out[m] = ((lambda text, _b=bits_of, _n=spec.N: chunk_bits(_b(text), _n)), h)
    return out


def stability_summary(encode: Callable, sentences: list[str], prefixes: list[str]) -> dict:
    """stability.stability of every sentence under every prefix, and its summary over sentences."""
    per = [stability(encode, s, prefixes) for s in sentences]
    lev = [p["mean_levenshtein"] for p in per]
    return {"sentences": len(sentences), "prefixes": len(prefixes),
            "mean_levenshtein": float(np.mean(lev)), "median_levenshtein": float(np.median(lev)),
            "mean_normalized_levenshtein": float(np.mean([p["mean_normalized_levenshtein"] for p in per])),
            "mean_tail_tokens": float(np.mean([p["mean_tail_tokens"] for p in per])),
            "distinct_tail_fraction": float(np.mean([p["distinct_tails"] / p["prefixes"] for p in per])),
            "per_sentence": [{k: p[k] for k in ("mean_levenshtein", "mean_normalized_levenshtein",
                                                 "mean_tail_tokens", "distinct_tails")} for p in per]}


def stability_analysis(methods: list[str], sentences: list[str], prefixes: list[str],
                       encoders: dict[str, tuple[Callable, str | None]],
                       previous: dict | None = None) -> dict:
    """Stability of each method (module docstring); encoders: {method: (encode, model_hash)}."""
    texts_sha = _sha([sentences, prefixes])
    prev = ((previous or {}).get("methods") or {})
    out = {"settings": {"sentences": len(sentences), "prefixes": len(prefixes),
                        "texts_sha": texts_sha, "version": ANALYSIS_VERSION},
           "methods": {}}
    for m in methods:
        if m not in encoders:
            continue
        encode, model_hash = encoders[m]
        key = {"method": m, "model_hash": model_hash, "texts_sha": texts_sha,
               "version": ANALYSIS_VERSION}
        if m in prev and prev[m].get("key") == key:
            out["methods"][m] = prev[m]
            continue
        t0 = time.perf_counter()
        entry = {"key": key, **stability_summary(encode, sentences, prefixes)}
        entry["seconds"] = round(time.perf_counter() - t0, 3)
        out["methods"][m] = entry
    return out


def stability_from_corpus(methods: list[str], previous: dict | None = None, *, sentences: int,
                          prefixes: int, data_path: Path | None = None,
                          pool_bytes: int = STABILITY_POOL_BYTES, seed: int = STABILITY_SEED) -> dict:
    """stability_analysis on validation sentences of the corpus with the default tokenizers."""
    methods = [m for m in STABILITY_METHODS if m in methods]
    if not methods or sentences < 1 or prefixes < 2:
        return {"skipped": "no stability method in the experiment, or counts set to 0"}
    try:
        texts = validation_texts(data_path, pool_bytes)
    except (OSError, ValueError) as e:
        if previous and previous.get("methods"):
            return dict(previous, note=f"corpus unavailable ({e}); previous results kept")
        return {"skipped": f"corpus unavailable: {e}"}
    sents, prefs = pick_sentences(texts, sentences, prefixes, seed)
    encoders = method_encoders(methods)
    out = stability_analysis(methods, sents, prefs, encoders, previous)
    # (the sentences themselves are not stored: results.json is committed, the corpus is not)
    out["settings"].update(pool_bytes=pool_bytes, seed=seed, max_chars=STABILITY_MAX_CHARS)
    return out


# ----------------------------------------------------------------------------- both

def run_analyses(results: dict, shards: Path, previous: dict | None = None, *,
                 kl_max_bits: int = KL_MAX_BITS, stability_sentences: int | None = None,
                 stability_prefixes: int | None = None, data_path: Path | None = None) -> dict:
    """results["analyses"] = {"kl": ..., "stability": ...} for the methods of `results`
    (those with shards); `previous`: the last results.json's "analyses", reused where current."""
    previous = previous or {}
    methods = list(results["methods"])
    k_def, p_def = STABILITY_COUNTS.get(results["scale"]["name"], STABILITY_COUNTS["small"])
    t0 = time.perf_counter()
    kl = kl_analysis(methods, shards, previous.get("kl"), max_bits=kl_max_bits)
    t1 = time.perf_counter()
    st = stability_from_corpus(
        methods, previous.get("stability"),
        sentences=k_def if stability_sentences is None else stability_sentences,
        prefixes=p_def if stability_prefixes is None else stability_prefixes, data_path=data_path)
    t2 = time.perf_counter()
    _log(f"KL {t1 - t0:.1f} s ({len(kl['methods'])} methods), stability {t2 - t1:.1f} s "
         f"({len(st.get('methods', {}))} methods)")
    results["analyses"] = {"kl": kl, "stability": st}
    return results["analyses"]
