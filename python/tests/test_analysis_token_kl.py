"""KL from uniform of n-bit tokens / bit n-grams (Fig. 11) and its bias correction."""
import numpy as np
import pytest

from eqinfo.analysis.token_kl import (kl_from_uniform_bits, kl_profile, miller_madow_bias_bits,
                                      ngram_values, stream_bits)


def test_stream_bits_is_msb_first():
    np.testing.assert_array_equal(stream_bits(np.array([0b1011, 0b0001]), 4),
                                  [1, 0, 1, 1, 0, 0, 0, 1])
    with pytest.raises(ValueError, match="does not fit"):
        stream_bits(np.array([256]), 8)


def test_ngram_values_overlapping_and_aligned():
    bits = np.array([1, 0, 1, 1, 0], dtype=np.uint8)
    np.testing.assert_array_equal(ngram_values(bits, 2, overlapping=True), [2, 1, 3, 2])
    np.testing.assert_array_equal(ngram_values(bits, 2, overlapping=False), [2, 3])


def test_constant_stream_has_maximal_kl_and_uniform_counts_have_zero():
    assert kl_from_uniform_bits(np.zeros(100, dtype=np.uint32), 3) == pytest.approx(3.0)
    assert kl_from_uniform_bits(np.arange(64, dtype=np.uint32) % 8, 3) == pytest.approx(0.0)


def test_bias_correction_brings_random_bits_to_zero_but_not_structured_bits():
    rng = np.random.default_rng(7)
    random_bits = rng.integers(0, 2, size=40_000, dtype=np.uint8)
    prof = kl_profile(random_bits, ns=[1, 8, 12], null_draws=3, seed=1)
    # At n = 12 with ~3,300 aligned samples the plug-in bias is large; corrected is ~0.
    assert prof["tokens_plugin"][2] > 0.5
    assert prof["tokens_plugin"][2] == pytest.approx(miller_madow_bias_bits(40_000 // 12, 12), rel=0.3)
    assert all(abs(v) < 0.05 for v in prof["tokens"] + prof["ngrams"])
    # Every 8th bit forced to 0 (like padding): clearly non-uniform after correction.
    structured = random_bits.copy()
    structured[::8] = 0
    prof = kl_profile(structured, ns=[8], null_draws=3, seed=1)
    assert prof["tokens"][0] > 0.9 and prof["ngrams"][0] > 0.05
