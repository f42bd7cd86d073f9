"""End to end with Hugging Face (issue 13, item 4): a small corpus made with datasets.map into
Equal-Info tokens (the bundled M1), a tiny GPT-2 trained a few steps by transformers' Trainer,
a generation, and its decode through M1. Fast: one layer, width 32, 40 short documents, 6 steps.
What is asserted is that the pieces fit (shapes, ids in range, a finite loss that moved, a str
and a DecodeResult back), not that the text means anything."""
import math

import numpy as np
import pytest

from binding_support import require_binding

require_binding()
torch = pytest.importorskip("torch")
datasets = pytest.importorskip("datasets", reason="datasets not installed (pip install '.[hf]')")
transformers = pytest.importorskip("transformers", reason="transformers not installed (pip install '.[hf]')")
pytest.importorskip("accelerate", reason="transformers' Trainer needs accelerate (pip install '.[hf]')")

from eqinfo.hf import EqinfoTokenizer  # noqa: E402
from eqinfo.tokenizer_types import DecodeResult  # noqa: E402

METHOD = "equalinfo-b16-v256"
MAX_TOKENS = 48


def _corpus(n=40, seed=0):
    """Short English-like documents from a fixed word list (deterministic)."""
    rng = np.random.default_rng(seed)
    words = "the cat sat on a mat and the dog ran to it . we saw them there".split()
    return [" ".join(rng.choice(words, size=int(rng.integers(4, 12)))).capitalize() + "." for _ in range(n)]


def test_trainer_on_equal_info_tokens_generates_and_decodes(tmp_path):
    tok = EqinfoTokenizer(METHOD)
    raw = datasets.Dataset.from_dict({"text": _corpus()})
    ds = raw.map(lambda b: tok(b["text"], truncation=True, max_length=MAX_TOKENS), batched=True,
                 remove_columns=["text"])
    assert set(ds.column_names) == {"input_ids", "attention_mask"}
    assert all(0 <= i < tok.vocab_size for row in ds["input_ids"] for i in row)

    torch.manual_seed(0)
    config = transformers.GPT2Config(vocab_size=len(tok), n_positions=MAX_TOKENS + 16, n_embd=32,
                                     n_layer=1, n_head=2, pad_token_id=tok.pad_token_id,
                                     bos_token_id=None, eos_token_id=None)
    model = transformers.GPT2LMHeadModel(config)
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path / "run"), max_steps=6, per_device_train_batch_size=8, learning_rate=3e-3,
        logging_steps=1, save_strategy="no", report_to=[], use_cpu=True, seed=0, dataloader_num_workers=0)
    collator = transformers.DataCollatorForLanguageModeling(tok, mlm=False)  # pads with tok.pad_token_id
    trainer = transformers.Trainer(model=model, args=args, train_dataset=ds, data_collator=collator)
    trainer.train()
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    assert len(losses) == 6 and all(math.isfinite(x) for x in losses)
    assert losses[-1] < losses[0]  # 6 steps at lr 3e-3 learn the unigram statistics at least

    # Generate from the first window of a document and decode through M1.
    prompt = tok(["The cat sat"], return_tensors="pt")
    model.eval()
    with torch.no_grad():
        out = model.generate(input_ids=prompt["input_ids"][:, :2], attention_mask=prompt["attention_mask"][:, :2],
                             max_new_tokens=16, do_sample=True, top_k=0, pad_token_id=tok.pad_token_id)
    assert out.shape == (1, 18) and int(out.min()) >= 0 and int(out.max()) < len(tok)
    text = tok.decode(out[0])
    assert isinstance(text, str)
    result = tok.decode_result(out[0])
    assert isinstance(result, DecodeResult) and all(isinstance(d, bytes) for d in result.documents)
    assert tok.batch_decode(out) == [text]
