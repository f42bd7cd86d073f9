"""The method registry: families generate the experiment's methods, each row carries its facts,
rows are checked, and a row added at run time is seen by every consumer (no C++ needed; the C++
names are checked against the rows in test_binding.py, and the whole tiny experiment with a new
row in test_experiment_e2e.py)."""
import pytest

from eqinfo import paper, registry, tokenizers
from eqinfo.registry import FAMILIES, METHODS, Method, add, find, lookup, vocab_name

EQUALINFO = FAMILIES["equalinfo"]


@pytest.fixture
def b48():
    """equalinfo-b48-v256, registered for one test (the C++ factory supports b = 48)."""
    row = add(Method(EQUALINFO, b=48, N=8))
    yield row
    del METHODS[row.name]


def test_families_generate_the_methods_of_the_experiment_in_matrix_order():
    expected = {"bytes", "sentencepiece"}
    for v in ("v256", "v65k"):
        expected |= {f"ac-{v}", f"staticac-{v}", f"gzip-{v}"}
        expected |= {f"equalinfo-b{b}-{v}" for b in (16, 24, 32, 64, 128)}
    assert set(METHODS) == expected
    # family by family, then window, then vocabulary: the report's row order
    assert list(METHODS)[:4] == ["bytes", "sentencepiece", "ac-v256", "ac-v65k"]
    assert list(METHODS)[-3:] == ["equalinfo-b64-v65k", "equalinfo-b128-v256", "equalinfo-b128-v65k"]
    assert all(m.name == name for name, m in METHODS.items())


def test_a_row_carries_its_factory_settings_model_and_geometry():
    m = lookup("equalinfo-b24-v65k")
    assert (m.factory, m.b, m.N, m.model, m.uses_m1) == ("equalinfo", 24, 16, "m1", True)
    assert m.label == "EqualInfoAC[b24, v65k]" and m.color == EQUALINFO.color
    assert m.window_tokens is None and m.group_tokens == 3       # 48 bits = 3 tokens = 2 windows
    assert lookup("equalinfo-b16-v256").window_tokens == 2 == lookup("equalinfo-b16-v256").group_tokens
    s = lookup("staticac-v256")
    assert (s.factory, s.b, s.N, s.model, s.uses_m1) == ("staticac", None, 8, "static", False)
    assert lookup("gzip-v65k").model is None and lookup("gzip-v65k").label == "GZip[v65k]"
    assert lookup("bytes").N is None and lookup("bytes").label == "Bytes"
    sp = lookup("sentencepiece")
    assert sp.factory is None and sp.model == "sentencepiece" and not sp.bit_stream
    assert [n for n, m in METHODS.items() if not m.self_delimiting] == [
        "ac-v256", "ac-v65k", "staticac-v256", "staticac-v65k", "gzip-v256", "gzip-v65k"]


def test_measured_bytes_per_token_scales_with_the_token_bits():
    for name, m in METHODS.items():
        at_8 = m.family.measured_bytes_per_token[m.b]
        assert m.measured_bytes_per_token == pytest.approx(at_8 * (m.N / 8 if m.N else 1)), name
    assert Method(EQUALINFO, b=48, N=8).measured_bytes_per_token is None   # never measured


def test_names_and_labels_follow_from_family_b_and_n():
    assert (vocab_name(8), vocab_name(16), vocab_name(12), vocab_name(4)) == ("v256", "v65k", "v4k", "v16")
    m = Method(EQUALINFO, b=48, N=16)
    assert (m.name, m.label, m.window_tokens) == ("equalinfo-b48-v65k", "EqualInfoAC[b48, v65k]", 3)


@pytest.mark.parametrize("family, b, n, why", [
    ("equalinfo", None, 8, "window bits b needed"),
    ("gzip", 16, 8, "window bits b not used"),
    ("bytes", None, 8, "token bits N not used"),
    ("ac", None, None, "token bits N needed"),
    ("ac", None, 17, r"N must be in \[1, 16\]"),
    ("equalinfo", 12, 16, "exceed the window bits"),
])
def test_a_row_that_cannot_be_a_method_is_refused(family, b, n, why):
    with pytest.raises(ValueError, match=why):
        Method(FAMILIES[family], b=b, N=n)


def test_an_added_row_is_seen_through_every_name_of_the_registry(b48):
    from eqinfo.experiment.methods import parse_method
    assert lookup("equalinfo-b48-v256") is b48 and tokenizers.METHODS["equalinfo-b48-v256"] is b48
    key = parse_method("equalinfo-b48-v256@m2-cpu-xs")
    assert (key.stream, key.window_tokens, key.label) == (
        "equalinfo-b48-v256", 6, "EqualInfoAC[b48, v256] @m2-cpu-xs")
    assert find("equalinfo", 48, 8) is b48
    with pytest.raises(ValueError, match="already registered"):
        add(Method(EQUALINFO, b=48, N=8))


def test_unknown_names_are_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="known: bytes, sentencepiece, ac-v256"):
        lookup("equalinfo-b16")
    assert find("gzip-raw", None, 8) is None


def test_paper_numbers_belong_to_registered_methods():
    assert set(paper.BY_METHOD) <= set(METHODS)
    for name, numbers in paper.BY_METHOD.items():
        assert lookup(name).paper is numbers
    assert lookup("equalinfo-b24-v256").paper == {}   # the paper gives no b24 numbers


def test_every_family_has_a_colour_of_its_own():
    colours = [f.color for f in FAMILIES.values()]
    assert len(set(colours)) == len(colours)
