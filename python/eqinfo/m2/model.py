"""M2: a decoder-only transformer LM over a token vocabulary (the tokens of one method).

    x = TokEmbed[V+1, d](inputs) + PosEmbed[max_seq_len, d]   # [B, T, d]; id V = BOS
    for each of L blocks (pre-norm):
        x = x + Attn(RMSNorm(x))                              # causal multi-head attention
        x = x + W2 (GELU(W1 h) * W3 h),  h = RMSNorm(x)       # GEGLU, d -> mlp_dim -> d
    logits = W_out RMSNorm(x)                                 # [B, T, V], untied, no bias

Positions: LEARNED ABSOLUTE (GPT-2 style), not M1's T5 relative bias. Why: (1) M2 only ever sees
examples of exactly seq_len tokens (training and evaluation alike, shards.Shard.examples), so
length extrapolation -- the main reason for relative positions -- is never needed; (2) with no
additive attention bias, attention is plain `scaled_dot_product_attention(is_causal=True)`, which
takes the fused flash / memory-efficient kernels on CUDA and never materialises a [B, H, T, T]
bias, and (3) it is the simplest thing that works. The paper's M2 (T5X) likely used relative
positions; at 512 tokens this is not expected to matter, and the cost is 512 x d parameters,
counted with the embeddings (not in the non-embedding count).

Inputs are the example shifted right behind a BOS (T5X decoder-only style): inputs =
[BOS, t_0 .. t_{T-2}], targets = [t_0 .. t_{T-1}], so every token of an example is predicted
once -- which is what lets evaluation cover every validation token exactly once.

No Linear has a bias. RMSNorm, residual-output init scaling and the z-loss are M1's.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..m1.model import RMSNorm, loss_fn  # noqa: F401  (loss_fn re-exported for train.py)
from .config import M2Config


class Attention(nn.Module):
    def __init__(self, cfg: M2Config):
        super().__init__()
        self.n_heads, self.head_dim = cfg.n_heads, cfg.hd
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.attn_dim, bias=False)
        self.o = nn.Linear(cfg.attn_dim, cfg.d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, _ = x.shape                                      # x [B, T, d]
        H, hd = self.n_heads, self.head_dim
        q, k, v = self.qkv(x).view(B, T, 3, H, hd).permute(2, 0, 3, 1, 4)  # each [B, H, T, hd]
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)       # [B, H, T, hd]
        return self.o(y.transpose(1, 2).reshape(B, T, H * hd))            # [B, T, d]


class GEGLU(nn.Module):
    """Gated feed-forward (Shazeer 2020, T5.1.1): three d x mlp_dim matrices. The paper's M2
    parameter counts only match with the gate (config.py)."""

    def __init__(self, cfg: M2Config):
        super().__init__()
        self.w1 = nn.Linear(cfg.d_model, cfg.mlp_dim, bias=False)   # gated branch
        self.w3 = nn.Linear(cfg.d_model, cfg.mlp_dim, bias=False)   # linear branch
        self.w2 = nn.Linear(cfg.mlp_dim, cfg.d_model, bias=False)

    def forward(self, x):                                          # [B, T, d] -> [B, T, d]
        return self.w2(F.gelu(self.w1(x), approximate="tanh") * self.w3(x))


class Block(nn.Module):
    def __init__(self, cfg: M2Config):
        super().__init__()
        self.norm1 = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.attn = Attention(cfg)
        self.norm2 = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.mlp = GEGLU(cfg)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class M2(nn.Module):
    def __init__(self, cfg: M2Config):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size + 1, cfg.d_model)   # + BOS (input only)
        self.pos = nn.Embedding(cfg.max_seq_len, cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.norm_f = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.out = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)  # never predicts BOS
        self._init_weights()

    def _init_weights(self):
        for name, p in self.named_parameters():
            if p.dim() == 2:
                std = 0.02
                # GPT-2: residual-branch outputs scaled so the residual variance does not grow
                # with depth.
                if name.endswith("attn.o.weight") or name.endswith("mlp.w2.weight"):
                    std = 0.02 / math.sqrt(2 * self.cfg.n_layers)
                nn.init.normal_(p, mean=0.0, std=std)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """inputs [B, T] long in 0..V (V = BOS), T <= max_seq_len -> logits [B, T, V]."""
        B, T = inputs.shape
        if T > self.cfg.max_seq_len:
            raise ValueError(f"sequence of {T} tokens > max_seq_len {self.cfg.max_seq_len}")
        pos = torch.arange(T, device=inputs.device)
        x = self.embed(inputs) + self.pos(pos)[None]              # [B, T, d]
        for blk in self.blocks:
            x = blk(x)
        return self.out(self.norm_f(x))                           # [B, T, V]


def shift_right(examples: torch.Tensor, bos: int) -> torch.Tensor:
    """examples [B, T] -> inputs [B, T] = [BOS, examples[:, :-1]]."""
    return torch.cat([torch.full_like(examples[:, :1], bos), examples[:, :-1]], dim=1)


# ----------------------------------------------------------------------------- counts and FLOPs

def non_embedding_params(cfg: M2Config) -> int:
    """Kaplan et al. 2020 N: all parameters except token/position embeddings and the unembedding.

    Per layer: q,k,v,o = 4 d attn_dim; GEGLU = 3 d mlp_dim; two RMSNorm gains 2 d. Plus the final
    norm. m2-25m: 6 x (4*512*512 + 3*512*2048 + 1024) + 512 = 25,172,480 (the paper's "25m").
    """
    d = cfg.d_model
    per_layer = 4 * d * cfg.attn_dim + 3 * d * cfg.mlp_dim + 2 * d
    return cfg.n_layers * per_layer + d


def forward_flops_per_token(cfg: M2Config, context: int | None = None) -> float:
    """Inference FLOPs per token.

    The paper's formula (PAPER.md, "Metrics": 2 x non-embedding params) is the context=None case;
    Kaplan et al. 2020, Table 1, adds the attention term 2 n_layer n_ctx d_attn when context is
    given. Neither counts the unembedding (d x V), which dominates tiny models at V = 65536.
    """
    f = 2.0 * non_embedding_params(cfg)
    if context is not None:
        f += 2.0 * cfg.n_layers * context * cfg.attn_dim
    return f


def train_flops_per_token(cfg: M2Config) -> float:
    """Training FLOPs per token, Kaplan et al. 2020 (C ~= 6 N per token: forward 2N + backward
    4N), used by `--flops` budgets. Same N as the paper's inference count."""
    return 6.0 * non_embedding_params(cfg)


def actual_matmul_flops_per_token(cfg: M2Config, seq_len: int, train: bool = True) -> float:
    """What a step really costs, unembedding and attention included (for honest CPU budgets):
    forward 2 (N + d V) + 2 n_layer T d_attn (causal attention averaged over positions: T/2 keys
    for q k^T and again for att v), x3 for training."""
    f = 2.0 * (non_embedding_params(cfg) + cfg.d_model * cfg.vocab_size)
    f += 2.0 * cfg.n_layers * seq_len * cfg.attn_dim
    return 3.0 * f if train else f
