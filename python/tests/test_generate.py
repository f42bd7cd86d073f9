"""eqinfo-generate: sampling from a tiny real M2 run over EqualInfoAC tokens, the prompt rule,
whole windows, stopping at EOS, garbage handling and the CLI."""
import json
import shutil

import numpy as np
import pytest
import torch

from eqinfo import generate as G
from eqinfo.m2 import M2Config
from eqinfo.m2 import train as T
from eqinfo.shards import write_shard
from eqinfo.tokenizers import Issue, get_tokenizer

METHOD = "equalinfo-b16-v256"     # 2 tokens per window
PROMPT = ("The committee met on Tuesday to discuss the new budget for the public library, "
          "and most members agreed that the reading room needs longer opening hours.")

_WORDS = ("the of and to in a is that for it as was with be by on not he this are or his "
          "from at which but have an they you were her she there been one all we their has "
          "would when if so no will more can out up about who time some into new people "
          "library budget city council school river morning garden window letter music").split()


def corpus(n_docs, seed):
    rng = np.random.default_rng(seed)
    docs = []
    for _ in range(n_docs):
        words = rng.choice(_WORDS, size=int(rng.integers(20, 60)))
        docs.append((" ".join(words).capitalize() + ".").encode())
    return docs


def make_run(root, method, steps=20):
    """A finished tiny M2 run on real shards of `method` (bundled models), as the experiment
    makes them: result.json records the method, the sidecar the model and its fingerprint."""
    torch.set_num_threads(1)
    tok = get_tokenizer(method)
    paths = {}
    for split, n, seed in (("train", 24, 0), ("val", 4, 1)):
        docs = corpus(n, seed)
        meta = {"method": method, "b": tok.spec.b, "N": tok.spec.N, "split": split,
                "model": str(tok.model_path) if tok.model_path else None,
                "model_hash": tok.model_hash}
        paths[split] = write_shard(root / "shards" / split / f"{method}.shard",
                                   tok.encode_batch(docs), [len(d) for d in docs],
                                   tok.vocab_size, meta)
    out = root / "runs" / method
    argv = ["--train", str(paths["train"]), "--val", str(paths["val"]), "--out", str(out),
            "--preset", "tiny", "--steps", str(steps), "--seq-len", "32", "--batch", "4",
            "--warmup", "2", "--eval-every", "0", "--ckpt-every", "100", "--quiet"]
    T.train(T.parse_args(argv))
    assert (out / "result.json").exists()
    return out


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("gen"), METHOD)


@pytest.fixture(scope="module")
def loaded(run):
    return G.load_run(run)


def test_load_run_finds_method_and_m1(loaded, run):
    assert loaded.method == METHOD and loaded.method_source == "result.json"
    assert loaded.finished and loaded.step == 20 and loaded.group == 2
    assert loaded.tokenizer.model_hash == loaded.shard_meta["model_hash"]
    # Without result.json the checkpoint's args lead to the shard's sidecar.
    (run.parent / "noresult").mkdir()
    shutil.copy(run / "ckpt.pt", run.parent / "noresult" / "ckpt.pt")
    r2 = G.load_run(run.parent / "noresult")
    assert r2.method == METHOD and "sidecar" in r2.method_source and not r2.finished


def test_deterministic_per_seed_and_sample(loaded):
    a = G.generate(loaded, n_tokens=40, seed=3)
    b = G.generate(loaded, n_tokens=40, seed=3)
    c = G.generate(loaded, n_tokens=40, seed=4)
    assert np.array_equal(a[0].tokens, b[0].tokens) and a[0].text == b[0].text
    assert not np.array_equal(a[0].tokens, c[0].tokens)
    two = G.generate(loaded, n_tokens=40, seed=3, samples=2)
    assert np.array_equal(two[0].tokens, a[0].tokens)             # sample i ignores --samples
    assert not np.array_equal(two[0].tokens, two[1].tokens)


def test_whole_windows_and_context_slides(loaded):
    # 5 tokens round up to 3 windows of 2 tokens; 70 > max_seq_len 32 makes the context slide.
    for n, want in ((5, 6), (70, 70)):
        g, = G.generate(loaded, n_tokens=n, seed=1)
        assert g.new_tokens == want and len(g.tokens) % 2 == 0
        assert g.windows == len(g.tokens) // 2                    # every window decoded
        assert g.tokens.dtype == np.uint16 and g.tokens.max() < 256


def test_prompt_keeps_its_windows_verbatim(loaded):
    tok = loaded.tokenizer
    p = PROMPT.encode()
    ids = tok.encode(p)
    last = tok.decode(ids[-2:])                                   # the EOS-closed last window
    assert last.documents and eos_of(last) == 1
    expect = p[:len(p) - len(last.documents[0])]
    assert len(expect) > len(p) // 2                             # several windows kept
    g, = G.generate(loaded, prompt=PROMPT, n_tokens=16, seed=0)
    assert g.prompt_tokens == len(ids) - 2
    assert np.array_equal(g.tokens[:g.prompt_tokens], ids[:-2])
    assert g.prompt_bytes == expect
    assert g.documents[0].startswith(expect) and g.text.startswith(expect.decode())
    assert g.new_tokens == 16


def eos_of(r):
    return len(r.documents) - (1 if Issue.UNTERMINATED_DOCUMENT in r.issues else 0)


def test_prompt_rule_other_methods():
    # b24 with 16-bit tokens: 3 tokens = 2 windows; the cut is on a 3-token boundary and
    # drops at most 2 windows (the EOS one, and one for the group) plus the straddling token.
    tok = get_tokenizer("equalinfo-b24-v65k")
    ids = tok.encode(PROMPT)
    kept = G.prompt_tokens(tok, PROMPT)
    assert len(kept) % 3 == 0 and 0 < len(ids) - len(kept) <= 4
    assert np.array_equal(kept, ids[:len(kept)])
    r = tok.decode(kept)
    assert r.windows == len(kept) * 16 // 24 and eos_of(r) == 0
    assert PROMPT.encode().startswith(r.documents[0]) and len(r.documents[0]) > 50
    b = get_tokenizer("bytes")
    assert np.array_equal(G.prompt_tokens(b, PROMPT), b.encode(PROMPT)[:-1])
    ac = get_tokenizer("ac-v256")
    with pytest.raises(G.GenerateError, match="one codeword"):
        G.prompt_tokens(ac, PROMPT)
    assert len(G.prompt_tokens(ac, "")) == 0
    eq = get_tokenizer(METHOD)
    assert np.array_equal(G.prompt_tokens(eq, "Hi"), eq.encode("Hi")[:-2])   # the EOS window
    assert len(G.prompt_tokens(eq, "")) == 0


def test_garbage_is_reported_not_raised(loaded):
    tok = loaded.tokenizer
    gens = G.generate(loaded, n_tokens=64, temperature=1e9, seed=5, samples=3)  # uniform tokens
    for g in gens:
        r = tok.decode(g.tokens)
        assert g.issues == r.issues and g.windows == r.windows == 32
        assert g.eos == eos_of(r)
        want_bad = sum(d.decode("utf-8", "replace").count("\ufffd") - d.count("\ufffd".encode())
                       for d in r.documents)
        assert g.replacement_chars == want_bad
        assert g.text.count(G.EOS_MARK) == g.eos
        assert g.issues_text in g.summary()
    # the tiny M2 is far from uniform: without the temperature its samples differ
    assert not all(np.array_equal(a.tokens, b.tokens)
                   for a, b in zip(gens, G.generate(loaded, n_tokens=64, seed=5, samples=3)))


def test_bytes_run_keeps_the_whole_prompt(tmp_path):
    g, = G.generate(make_run(tmp_path, "bytes", steps=3), prompt=PROMPT, n_tokens=5, seed=0)
    assert g.prompt_bytes == PROMPT.encode() and g.text.startswith(PROMPT)
    assert g.prompt_tokens == len(PROMPT.encode()) and g.new_tokens == 5
    assert g.windows == 0 and "windows" not in g.summary()


def test_decode_text_counts_invalid_utf8_and_eos():
    tok = get_tokenizer("bytes")
    ok_fffd = list("\ufffd".encode())                          # a valid U+FFFD: not counted
    toks = [0xFF, 0x61, 256, 0x62] + ok_fffd + [0xE2, 0x82]   # bad byte | EOS | truncated char
    r, text, bad = G.decode_text(tok, np.array(toks, dtype=np.uint16))
    assert r.documents == [b"\xffa", b"b\xef\xbf\xbd\xe2\x82"]
    assert r.issues == Issue.UNTERMINATED_DOCUMENT
    assert text == "\ufffda" + G.EOS_MARK + "b\ufffd\ufffd" and bad == 2
    r, text, bad = G.decode_text(tok, np.array([0x61, 256], dtype=np.uint16))
    assert text == "a" + G.EOS_MARK and bad == 0 and r.ok
    # a broken GZip stream ends its document without an EOS
    gz = get_tokenizer("gzip-v256")
    r, text, _ = G.decode_text(gz, np.concatenate([gz.encode("hello"), [1, 2]]).astype(np.uint16))
    assert r.issues == Issue.CORRUPT_STREAM and G.eos_count(r) == 1
    assert text == "hello" + G.EOS_MARK


def test_greedy_equals_top1(loaded):
    a, = G.generate(loaded, n_tokens=12, temperature=0, seed=1)
    b, = G.generate(loaded, n_tokens=12, top_k=1, seed=2)
    assert np.array_equal(a.tokens, b.tokens)


class Replay(torch.nn.Module):
    """A stand-in M2 whose next token is pattern[len(context) % len(pattern)]."""

    def __init__(self, pattern, vocab):
        super().__init__()
        self.cfg = M2Config(d_model=8, n_heads=1, n_layers=1, mlp_dim=8, vocab_size=vocab,
                            max_seq_len=1024)
        self.pattern = [int(t) for t in pattern]

    def forward(self, inputs):
        B, T = inputs.shape
        logits = torch.zeros(B, T, self.cfg.vocab_size)
        logits[:, -1, self.pattern[(T - 1) % len(self.pattern)]] = 50.0
        return logits


class Counter(torch.nn.Module):
    """A stand-in M2 that continues 0, 1, 2, ... (so a token is its own position) and records
    every input it is given."""

    def __init__(self, max_seq_len, vocab=4096):
        super().__init__()
        self.cfg = M2Config(d_model=8, n_heads=1, n_layers=1, mlp_dim=8, vocab_size=vocab,
                            max_seq_len=max_seq_len)
        self.seen = []

    def forward(self, inputs):
        self.seen.append(inputs[0].tolist())
        logits = torch.zeros(*inputs.shape, self.cfg.vocab_size)
        logits[:, -1, (int(inputs[0, -1]) + 1) % self.cfg.vocab_size] = 50.0
        return logits


@pytest.mark.parametrize("group", [1, 2, 3])
def test_context_slides_by_whole_groups(group):
    m = Counter(max_seq_len=10)
    asked = []
    new, _ = G.sample_tokens(m, np.arange(6, dtype=np.uint16), 30, group=group, temperature=0,
                             stop=lambda ctx: asked.append(len(ctx)) or False)
    assert new.tolist() == list(range(6, 36))
    assert asked == list(range(6 + group, 37, group))                 # after whole groups only
    for inp in m.seen:
        assert inp[0] == m.cfg.bos and len(inp) <= 10
        assert inp[1] % group == 0                                    # a group starts after BOS
        assert inp[-1] - inp[1] + 1 == len(inp) - 1                   # the latest tokens, in order
        assert len(inp) - 1 >= min(9, inp[-1] + 1) - (group - 1)     # as much as fits whole
    assert max(len(i) for i in m.seen) == 10


@pytest.mark.parametrize("method", [METHOD, "ac-v256"])
def test_until_eos_stops_after_the_document(method):
    tok = get_tokenizer(method)
    doc = tok.encode("hello world")
    model = Replay(doc, tok.vocab_size)
    stop = (lambda ctx: G.eos_count(tok.decode(ctx[-2:])) > 0) if method == METHOD else \
        (lambda ctx: G.eos_count(tok.decode(ctx)) > 0)
    g = tok.spec.group_tokens
    new, stopped = G.sample_tokens(model, np.zeros(0, np.uint16), 4 * len(doc), group=g,
                                   stop=stop, generator=torch.Generator().manual_seed(0))
    assert stopped and np.array_equal(new, doc)
    new, stopped = G.sample_tokens(model, np.zeros(0, np.uint16), 2 * len(doc), group=g,
                                   generator=torch.Generator().manual_seed(0))
    r, text, _ = G.decode_text(tok, new)
    assert not stopped and r.documents == [b"hello world"] * 2 and r.ok
    assert text == ("hello world" + G.EOS_MARK) * 2


def test_generate_until_eos_flag(loaded):
    tok = loaded.tokenizer
    doc = tok.encode("a short one")
    run = G.Run(path=loaded.path, model=Replay(doc, 256), tokenizer=tok, method=METHOD,
                method_source="test", step=0, total_steps=0, finished=True)
    g, = G.generate(run, n_tokens=100, until_eos=True)
    assert g.stopped_at_eos and g.eos == 1 and g.text == "a short one" + G.EOS_MARK
    assert "stopped at EOS" in g.summary()
    g, = G.generate(run, n_tokens=100)
    assert not g.stopped_at_eos and g.new_tokens == 100 and g.eos >= 2


def test_cli_prints_text_and_summary(run, loaded, capsys):
    G.main([str(run), "--prompt", PROMPT, "--tokens", "10", "--seed", "7", "--samples", "2"])
    out = capsys.readouterr().out
    gens = G.generate(loaded, prompt=PROMPT, n_tokens=10, seed=7, samples=2)
    for i, g in enumerate(gens):
        assert f"--- sample {i + 1}/2 ---\n{g.text}\n{g.summary()}\n" in out
    assert gens[0].text.startswith(gens[0].prompt_bytes.decode())
    assert "tokens" in gens[0].summary() and "replacement chars" in gens[0].summary()


def _copy_run(run, dst, result=None):
    dst.mkdir()
    ckpt = torch.load(run / "ckpt.pt", weights_only=False)
    if result is None:
        ckpt["args"] = {}                       # nothing records the method
    torch.save(ckpt, dst / "ckpt.pt")
    if result is not None:
        (dst / "result.json").write_text(json.dumps(result))
    return dst


def test_cli_errors(run, tmp_path):
    def err(*argv):
        with pytest.raises(SystemExit) as e:
            G.main([str(a) for a in argv])
        return str(e.value.code)

    assert "no such run directory" in err(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    assert "no checkpoint" in err(tmp_path / "empty")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "ckpt.pt").write_bytes(b"not a checkpoint")
    assert "not a readable M2 checkpoint" in err(tmp_path / "bad")
    assert f"trained on {METHOD}" in err(run, "--method", "bytes")
    bare = _copy_run(run, tmp_path / "bare")
    assert "pass --method" in err(bare)
    assert "vocab mismatch" in err(bare, "--method", "bytes")          # 257 ids vs 256
    assert "vocab mismatch" in err(bare, "--method", "equalinfo-b16-v65k")
    assert "unknown method" in err(bare, "--method", "nonsense")
    # eqinfo-experiment's shard_identity.json stands in for a shard that is gone
    ident = {"train": {"method": METHOD, "model_hash": get_tokenizer(METHOD).model_hash}}
    (bare / "shard_identity.json").write_text(json.dumps(ident))
    assert G.load_run(bare).method_source == "shard_identity.json"
    ident["train"]["model_hash"] = "0123456789abcdef"
    (bare / "shard_identity.json").write_text(json.dumps(ident))
    assert "fingerprint" in err(bare)
    assert "--tokens must be" in err(run, "--tokens", "0")
    assert "one codeword" in err(_copy_run(run, tmp_path / "ac", {"method": "ac-v256"}),
                                 "--prompt", "hi")
    # a shard made with another M1: its fingerprint is checked
    res = json.loads((run / "result.json").read_text())
    side = json.loads((run.parents[1] / "shards" / "train" / f"{METHOD}.shard.json").read_text())
    side["model_hash"] = "0123456789abcdef"
    fake = tmp_path / "other" / f"{METHOD}.shard"
    fake.parent.mkdir()
    fake.with_name(fake.name + ".json").write_text(json.dumps(side))
    other = _copy_run(run, tmp_path / "otherm1", dict(res, train_shard=str(fake)))
    assert "fingerprint" in err(other)
