"""Named experiment scales: M2 size, data sizes and the training budget of every run.

Budget rule. A scale gives every method the same TRAINING TEXT (a prefix of whole documents of
the train split, `train_bytes`) and trains each run for `epochs` passes over its own token
stream, i.e. every method sees the same text equally often (`budget="epochs"`); or, as in the
paper, the same number of tokens for every method (`budget="tokens"`, `tokens` per run; methods
that compress more then see more text, repeating it if their shard is shorter). Validation is the
same prefix of the validation split (`val_bytes`) for every method.

Why `small` is what it is (measured on this 2-core EPYC, 1 thread per run, M2 m2-cpu-xs, seq 256,
batch 16; the machine was loaded by two other jobs, so quiet numbers are ~2x these):
    V = 256: 8,200 tok/s   V = 257: 10,100 tok/s   V = 65,536: 216 tok/s   (training)
The v65k softmax is 128 x 65,536 = 8.4M multiply-adds per token against 0.33M for the whole
transformer body: a v65k token costs ~40x a v256 token, so the 8 v65k runs are ~85% of the M2
time, and every additional megabyte of training text costs ~1 CPU-hour per epoch (estimate()).
So `small` uses the smallest useful M2 (d 128, 2 layers, 0.33M non-embedding parameters), 1.5 MB
of training text seen twice by every method (224 documents), and 100 KB of validation (23
documents); both are fixed random samples of whole documents over all sources (`doc_order`: the
corpus file is ordered by source, so a prefix would be State of the Union speeches only). AC (no windows) compresses whole documents with M1, at a cost
quadratic in document length with m1-3m (~0.3 KB/s on 12 KB documents, models/m1-3m.md; m1-v2,
the bundled M1 since 2026-12-01, is linear), so its TRAIN text
is cut to 200 KB (it only has to show that nothing is learned; its validation text is the same
as everyone's). Bytes is also trained at m2-cpu-s and m2-cpu-m (`sweeps`) so that its curve over
M2 sizes reaches the ~5M FLOPs/byte of the M1 methods. `python -m eqinfo.experiment.scales
--estimate small` gives ~8.3 CPU-hours at the loaded-machine throughputs above. Measured
(2026-11-28/29, docs/results.md "Cost"): the 20 runs took 3.75 hours of wall time summed over runs
(2 to 4 runs at a time on 2 cores, so less CPU time), v65k runs at 450-730 tokens/s each; M1
compression of the 13 M1 shards about 15 core-minutes.
"""
from __future__ import annotations

import argparse
import dataclasses
import time
from dataclasses import dataclass, field

from ..m2 import get_preset, non_embedding_params
from ..registry import METHODS
from .methods import parse_method


@dataclass(frozen=True)
class Scale:
    name: str
    preset: str                      # M2 preset (eqinfo.m2.config.PRESETS)
    seq_len: int
    batch: int
    train_bytes: int | None          # text bytes of the train prefix (None: the whole split)
    val_bytes: int | None            # text bytes of the validation prefix (None: whole split)
    budget: str = "epochs"           # "epochs" | "tokens"
    epochs: float = 1.0
    tokens: float | None = None
    lr: float = 1e-3
    warmup_frac: float = 0.05        # warmup steps = frac x steps (at least 1)
    n_evals: int = 6                 # evaluations per run, evenly spaced (Fig. 10 curves)
    micro_batch: int = 0
    eval_batch: int = 16
    # family -> train_bytes for that family (e.g. AC's quadratic compression cost)
    train_bytes_by_family: dict = field(default_factory=dict)
    methods: tuple[str, ...] = tuple(METHODS)   # every registered method, in registry order
    # Extra runs "<method>@<M2 preset>": the same stream with other M2 sizes, so that methods can
    # be compared at equal inference FLOPs/byte (paper Fig. 3 draws one curve per method over M2
    # sizes). Part of the matrix with --methods all.
    sweeps: tuple[str, ...] = ()
    device: str = "auto"
    # Which documents the byte limits select (eqinfo.compress.select_documents): "shuffled" = a
    # fixed random sample over all sources; a file-order prefix would be a single source.
    doc_order: str = "shuffled"
    # Its report and kept runs are the committed ones (docs/results.md, docs/results/<scale>/) by
    # default; False (the tiny smoke test): eqinfo-experiment writes only under its --out.
    publish: bool = True

    def train_bytes_for(self, method: str) -> int | None:
        return self.train_bytes_by_family.get(parse_method(method).family, self.train_bytes)

    def run_tokens(self, train_tokens: int) -> float:
        """Training tokens of one run whose train shard holds train_tokens tokens."""
        if self.budget == "epochs":
            return self.epochs * train_tokens
        if self.budget == "tokens":
            return float(self.tokens)
        raise ValueError(f"unknown budget {self.budget!r}")


SCALES: dict[str, Scale] = {
    # End-to-end check: minutes on a CPU, real compression of a few documents.
    "tiny": Scale("tiny", "tiny", seq_len=64, batch=4, train_bytes=30_000, val_bytes=10_000,
                  epochs=2, n_evals=2, train_bytes_by_family={"ac": 15_000},
                  sweeps=("bytes@m2-cpu-xs",), publish=False),
    # ~4-6 CPU-hours for the 18 methods (module docstring).
    "small": Scale("small", "m2-cpu-xs", seq_len=256, batch=16, train_bytes=1_500_000,
                   val_bytes=100_000, epochs=2, n_evals=6, train_bytes_by_family={"ac": 200_000},
                   sweeps=("bytes@m2-cpu-s", "bytes@m2-cpu-m")),
    # The paper's M2 25m on one GPU at the paper's early data point ("25m at only 3k steps":
    # PAPER.md gives Bytes 1.62, SentencePiece 1.35, EqualInfoAC[b16, v65k] 1.62 there):
    # 3,000 steps x 256 x 512 = 393M tokens per run (the paper's full budget, 200k steps, is
    # 67x that). Whole train split (70.7 MB; AC: 5 MB, quadratic) and whole validation split.
    "paper-25m": Scale("paper-25m", "m2-25m", seq_len=512, batch=256, train_bytes=None,
                       val_bytes=None, budget="tokens", tokens=3000 * 256 * 512, lr=1e-3,
                       warmup_frac=0.05, n_evals=10, micro_batch=64, eval_batch=64,
                       train_bytes_by_family={"ac": 5_000_000}),
}


def get_scale(name: str, **overrides) -> Scale:
    try:
        s = SCALES[name]
    except KeyError:
        raise ValueError(f"unknown scale {name!r}; choose from {sorted(SCALES)}") from None
    return dataclasses.replace(s, **overrides) if overrides else s


# ----------------------------------------------------------------------------- cost estimate

def estimate(scale: Scale, tok_s: dict[int, float], sp_vocab: int = 8192) -> dict:
    """CPU-seconds of a scale. tok_s: training tokens/s at vocab 256, 257 and 65536 (others are
    interpolated by the softmax cost, linear in V). Evaluation is counted at 3x training speed.
    Bytes/token and M1 compression speed: each method's registry row (eqinfo.registry.Family:
    measured_bytes_per_token, compress_bytes_per_s)."""
    def speed(v):
        if v in tok_s:
            return tok_s[v]
        # cost(V) = a + c V per token, through the 256 and 65536 points
        c = (1 / tok_s[65536] - 1 / tok_s[256]) / (65536 - 256)
        return 1 / (1 / tok_s[256] + c * (v - 256))
    n_scale = non_embedding_params(get_preset(scale.preset))
    train_s = eval_s = 0.0
    for m in scale.methods + scale.sweeps:
        info = parse_method(m)
        # A sweep run's body costs in proportion to its size (the softmax is the same).
        body = non_embedding_params(get_preset(info.preset)) / n_scale if info.preset else 1.0
        bpt = info.method.measured_bytes_per_token
        if bpt is None:
            raise ValueError(f"{m}: no measured bytes/token to estimate from "
                             "(eqinfo.registry.Family.measured_bytes_per_token)")
        v = {"bytes": 257, "sentencepiece": sp_vocab}.get(info.family, 2 ** (info.token_bits or 8))
        tb = scale.train_bytes_for(m) or 70_725_522
        train_s += body * scale.run_tokens(tb / bpt) / speed(v)
        eval_s += body * scale.n_evals * (scale.val_bytes or 1_472_325) / bpt / (3 * speed(v))
    comp = 0.0
    # One M1 pass per family and window serves every N (eqinfo.compress).
    passes = {(info.method.family, info.b) for info in map(parse_method, scale.methods)
              if info.uses_m1}
    for fam, b in passes:
        tb = (scale.train_bytes_by_family.get(fam.name, scale.train_bytes) or 70_725_522)
        comp += (tb + (scale.val_bytes or 1_472_325)) / fam.compress_bytes_per_s
    return {"train_cpu_s": train_s, "eval_cpu_s": eval_s, "compress_cpu_s": comp,
            "total_cpu_h": (train_s + eval_s + comp) / 3600}


def measure(preset: str, seq_len: int = 256, batch: int = 16, vocabs=(256, 257, 65536),
            steps: int = 3, threads: int = 1) -> dict[int, float]:
    """Training tokens/s of M2 `preset` at each vocabulary (random tokens, best of `steps`)."""
    import torch
    from ..m2.model import M2, loss_fn, shift_right
    torch.set_num_threads(threads)
    out = {}
    for v in vocabs:
        cfg = get_preset(preset, vocab_size=v, max_seq_len=seq_len)
        torch.manual_seed(0)
        model = M2(cfg)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        y = torch.randint(0, v, (batch, seq_len))
        best = float("inf")
        for i in range(steps + 1):
            t0 = time.perf_counter()
            loss, _ = loss_fn(model(shift_right(y, cfg.bos)), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if i:  # the first step warms up allocations
                best = min(best, time.perf_counter() - t0)
        out[v] = batch * seq_len / best
    return out


MEASURED_SMALL = {256: 8_200.0, 257: 10_100.0, 65536: 216.0}  # loaded machine (docstring)


def main(argv=None):
    p = argparse.ArgumentParser(description="Measure M2 throughput and estimate a scale's cost.")
    p.add_argument("--estimate", default="small", help="scale name")
    p.add_argument("--measure", action="store_true", help="measure throughput now (~1 min)")
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    sc = get_scale(a.estimate)
    tok_s = measure(sc.preset, sc.seq_len, sc.batch, threads=a.threads) if a.measure \
        else MEASURED_SMALL
    for v, s in tok_s.items():
        print(f"{sc.preset} V={v}: {s:,.0f} training tokens/s")
    est = estimate(sc, tok_s)
    print(f"scale {sc.name}: train {est['train_cpu_s']/3600:.2f} h, eval {est['eval_cpu_s']/3600:.2f} h, "
          f"compress {est['compress_cpu_s']/3600:.2f} h -> {est['total_cpu_h']:.2f} CPU-hours")


if __name__ == "__main__":
    main()
