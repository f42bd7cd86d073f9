"""Stability of a sentence's tokens under different prefixes."""
import numpy as np
import pytest

from eqinfo.analysis.stability import changed_tail, sentence_prefixes, stability


def test_changed_tail():
    assert changed_tail([1, 2, 3, 4], [1, 2, 9]) == [3, 4]
    assert changed_tail([1, 2], [1, 2]) == []
    assert changed_tail([5], []) == [5]


def _bytes_tokenizer(text):  # perfectly stable: a token per byte
    return np.frombuffer(text.encode(), dtype=np.uint8)


def _running_sum_tokenizer(text):  # every token depends on everything before it, like AC
    return np.cumsum(np.frombuffer(text.encode(), dtype=np.uint8).astype(np.int64)) % 251


def test_stable_tokenizer_scores_zero_and_context_dependent_one_does_not():
    prefixes = ["A cat sat. ", "Dogs bark loudly. ", "Nothing here at all. "]
    s = stability(_bytes_tokenizer, "The same sentence.", prefixes)
    assert s["mean_levenshtein"] == 0 and s["distinct_tails"] == 1
    assert s["mean_tail_tokens"] == len("The same sentence.")
    u = stability(_running_sum_tokenizer, "The same sentence.", prefixes)
    assert u["distinct_tails"] == 3 and u["mean_normalized_levenshtein"] > 0.5


def test_prefixes_are_deterministic_sentences():
    texts = ["First sentence is long enough. Second one is also long enough. x. "
             "Third sentence, long enough too. Fourth sentence of the text here."]
    a = sentence_prefixes(texts, 3, seed=4)
    assert a == sentence_prefixes(texts, 3, seed=4) and len(set(a)) == 3
    assert all(p.endswith(". ") for p in a)
    with pytest.raises(ValueError, match="usable sentences"):
        sentence_prefixes(texts, 10)
