"""Stability: does one sentence get the same tokens whatever text comes before it?

The paper notes that a subword tokenizer maps a word to the same tokens in any context, while
AC maps it to context-dependent bits, and Equal-Info windows sit in between (a window restarts
M1 and the coder, but where the windows fall depends on everything before). We measure it:

  for each prefix P_i (other text, e.g. validation sentences):
      full   = tokenize(P_i + S)          (one document, as the tokenizer sees it)
      before = tokenize(P_i)
      tail_i = full[k:], k = length of the longest common token prefix of `full` and `before`
  i.e. the tokens that changed once S was appended: S's own tokens, plus whatever of the
  prefix's end had to be re-tokenized (SentencePiece: at most a token or two; Equal-Info: the
  prefix's last, EOS-closed window; AC: everything after the bits the prefix alone fixes).

Reported over all pairs (i, j) of prefixes: the mean Levenshtein distance between tail_i and
tail_j, the same normalised by max(len), and the number of distinct tails. A perfectly stable
tokenizer gives distance 0 and a single distinct tail. Levenshtein distance on token sequences
comes from rapidfuzz (a maintained C++ implementation; sequences of ints are hashable items).
"""
from __future__ import annotations

import itertools
from typing import Callable, Sequence

import numpy as np
from rapidfuzz.distance import Levenshtein


def changed_tail(full: Sequence[int], before: Sequence[int]) -> list[int]:
    """full[k:], k = the length of the longest common prefix of `full` and `before`."""
    k = 0
    for a, b in zip(full, before):
        if a != b:
            break
        k += 1
    return list(full[k:])


def stability(encode: Callable[[str], np.ndarray], sentence: str,
              prefixes: Sequence[str]) -> dict:
    """Levenshtein statistics of `sentence`'s tokenization under every prefix (module doc)."""
    if len(prefixes) < 2:
        raise ValueError("stability needs at least two prefixes to compare")
    tails = []
    for p in prefixes:
        full = np.asarray(encode(p + sentence)).tolist()
        before = np.asarray(encode(p)).tolist()
        tails.append(changed_tail(full, before))
    dists, norms = [], []
    for a, b in itertools.combinations(tails, 2):
        d = Levenshtein.distance(a, b)
        dists.append(d)
        norms.append(d / max(1, len(a), len(b)))
    return {
        "prefixes": len(prefixes),
        "mean_tail_tokens": float(np.mean([len(t) for t in tails])),
        "mean_levenshtein": float(np.mean(dists)),
        "mean_normalized_levenshtein": float(np.mean(norms)),
        "distinct_tails": len({tuple(t) for t in tails}),
    }


def sentence_prefixes(texts: Sequence[str], count: int, seed: int = 0,
                      min_chars: int = 20, max_chars: int = 400) -> list[str]:
    """`count` distinct prefixes cut from `texts` at sentence ends ('. '), deterministically.

    Each prefix ends with ". " so the measured sentence starts a new sentence in every context,
    as it would in running text.
    """
    rng = np.random.default_rng(seed)
    candidates = []
    for t in texts:
        for part in t.split(". "):
            part = part.strip()
            if min_chars <= len(part) <= max_chars:
                candidates.append(part + ". ")
    candidates = sorted(set(candidates))
    if len(candidates) < count:
        raise ValueError(f"only {len(candidates)} usable sentences for {count} prefixes")
    picks = rng.choice(len(candidates), size=count, replace=False)
    return [candidates[i] for i in sorted(picks)]
