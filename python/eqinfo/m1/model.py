"""M1: byte-level decoder-only transformer with T5 relative position bias.

Structure (kept deliberately plain so that it can be re-implemented in integer fixed point in C++):

    x = Embed(tokens)                                   # [B, T, d], no absolute positions
    for each of L blocks (pre-norm):
        x = x + Attn(RMSNorm(x))                        # causal MHA + per-layer T5 rel. bias
        x = x + W2 ReLU(W1 RMSNorm(x))                  # MLP d -> mlp_dim -> d
    logits = W_out RMSNorm(x)                           # [B, T, 257], untied, no bias

No Linear layer has a bias. RMSNorm has a learnable gain and eps 1e-6.

Context resets: `segment_ids` [B, T] restricts attention to keys of the same segment (block-
diagonal causal mask). A segment therefore behaves exactly like a separate sequence, because the
relative position between two tokens of one segment is the same whether or not it is packed
behind other segments. This is how training reproduces what M1 sees at inference, where it is
reset at every Equal-Info window.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import M1Config

Z_LOSS_COEF = 1e-4  # PAPER.md: z-loss 1e-4


def relative_position_bucket(relative_position: torch.Tensor, num_buckets: int = 32,
                             max_distance: int = 128) -> torch.Tensor:
    """T5's `_relative_position_bucket` with bidirectional=False.

    relative_position = key_pos - query_pos (<= 0 for the keys a causal query can see).
    n = query_pos - key_pos, clipped at 0. Distances n < num_buckets/2 get their own bucket;
    larger ones share log-spaced buckets up to max_distance, beyond which all map to the last.
    Example (32 buckets, 128): n=0..15 -> n, 16 -> 16, 32 -> 21, 64 -> 26, 127 -> 31, 1000 -> 31.
    """
    n = torch.clamp(-relative_position, min=0)
    max_exact = num_buckets // 2
    is_small = n < max_exact
    # clamp(min=1) only avoids log(0) in the branch that `is_small` discards.
    val_if_large = max_exact + (
        torch.log(n.float().clamp(min=1) / max_exact) / math.log(max_distance / max_exact)
        * (num_buckets - max_exact)
    ).to(torch.long)
    val_if_large = torch.clamp(val_if_large, max=num_buckets - 1)
    return torch.where(is_small, n, val_if_large)


class RMSNorm(nn.Module):
    def __init__(self, d: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))  # learnable gain

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Normalise in fp32 even under bf16 autocast: the mean of squares is precision-sensitive.
        xf = x.float()
        y = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return (y * self.weight.float()).to(x.dtype)


class Attention(nn.Module):
    def __init__(self, cfg: M1Config):
        super().__init__()
        self.n_heads, self.head_dim = cfg.n_heads, cfg.head_dim
        d = cfg.d_model
        self.q = nn.Linear(d, d, bias=False)
        self.k = nn.Linear(d, d, bias=False)
        self.v = nn.Linear(d, d, bias=False)
        self.o = nn.Linear(d, d, bias=False)
        # One scalar bias per (bucket, head), separate in every layer (PAPER.md: "a learned
        # relative-position attention bias in every layer").
        self.rel_bias = nn.Embedding(cfg.rel_num_buckets, cfg.n_heads)

    def forward(self, x: torch.Tensor, buckets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # x [B, T, d]; buckets [T, T] long; mask [B, 1, T, T] float (0 allowed / -inf not)
        B, T, d = x.shape
        H, hd = self.n_heads, self.head_dim
        q = self.q(x).view(B, T, H, hd).transpose(1, 2)  # [B, H, T, hd]
        k = self.k(x).view(B, T, H, hd).transpose(1, 2)
        v = self.v(x).view(B, T, H, hd).transpose(1, 2)
        bias = self.rel_bias(buckets).permute(2, 0, 1)    # [T, T, H] -> [H, T, T]
        attn_mask = (bias.unsqueeze(0) + mask).to(q.dtype)  # [B, H, T, T]
        y = _attention(q, k, v, attn_mask)                # [B, H, T, hd]
        return self.o(y.transpose(1, 2).reshape(B, T, d))


def _attention(q, k, v, attn_mask):
    """softmax(q k^T / sqrt(hd) + attn_mask) v. Uses SDPA where available, else the same math."""
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]) + attn_mask
    return torch.softmax(scores.float(), dim=-1).to(v.dtype) @ v


class MLP(nn.Module):
    def __init__(self, cfg: M1Config):
        super().__init__()
        self.w1 = nn.Linear(cfg.d_model, cfg.mlp_dim, bias=False)
        self.w2 = nn.Linear(cfg.mlp_dim, cfg.d_model, bias=False)

    def forward(self, x):
        return self.w2(F.relu(self.w1(x)))


class Block(nn.Module):
    def __init__(self, cfg: M1Config):
        super().__init__()
        self.norm1 = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.attn = Attention(cfg)
        self.norm2 = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.mlp = MLP(cfg)

    def forward(self, x, buckets, mask):
        x = x + self.attn(self.norm1(x), buckets, mask)
        x = x + self.mlp(self.norm2(x))
        return x


class M1(nn.Module):
    def __init__(self, cfg: M1Config):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.norm_f = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.out = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)  # untied from embed
        self._init_weights()

    def _init_weights(self):
        for name, p in self.named_parameters():
            if name.endswith("rel_bias.weight"):
                nn.init.zeros_(p)  # start with no positional preference
            elif p.dim() == 2:
                std = 0.02
                # GPT-2 style: scale residual-branch outputs so the residual stream's variance
                # does not grow with depth.
                if name.endswith("attn.o.weight") or name.endswith("mlp.w2.weight"):
                    std = 0.02 / math.sqrt(2 * self.cfg.n_layers)
                nn.init.normal_(p, mean=0.0, std=std)

    def forward(self, tokens: torch.Tensor, segment_ids: torch.Tensor | None = None) -> torch.Tensor:
        """tokens [B, T] long in 0..256; segment_ids [B, T] int (None = one segment). -> logits [B, T, 257]."""
        B, T = tokens.shape
        dev = tokens.device
        pos = torch.arange(T, device=dev)
        rel = pos[None, :] - pos[:, None]                 # [T(query), T(key)] = key - query
        buckets = relative_position_bucket(rel, self.cfg.rel_num_buckets, self.cfg.rel_max_distance)
        allowed = (rel <= 0)[None]                        # causal, [1, T, T]
        if segment_ids is not None:
            allowed = allowed & (segment_ids[:, :, None] == segment_ids[:, None, :])  # [B, T, T]
        W = self.cfg.attention_window
        if W and T > W - 1:  # bounded span: the segment's first position and the W - 1 latest
            first = torch.ones(B if segment_ids is not None else 1, T, dtype=torch.bool, device=dev)
            if segment_ids is not None:
                first[:, 1:] = segment_ids[:, 1:] != segment_ids[:, :-1]
            else:
                first[:, 1:] = False
            allowed = allowed & ((rel >= -(W - 2))[None] | first[:, None, :])
        # The diagonal is always allowed, so no row is all -inf (no NaN from softmax).
        mask = torch.zeros(allowed.shape, device=dev).masked_fill(~allowed, float("-inf"))
        mask = mask.unsqueeze(1)                          # [B or 1, 1, T, T]

        x = self.embed(tokens)                            # [B, T, d]
        for blk in self.blocks:
            x = blk(x, buckets, mask)
        return self.out(self.norm_f(x))                   # [B, T, 257]


def loss_fn(logits: torch.Tensor, targets: torch.Tensor, valid: torch.Tensor | None = None):
    """Cross entropy + z-loss (PAPER.md: z-loss 1e-4 * logsumexp(logits)^2).

    logits [B, T, V]; targets [B, T]; valid [B, T] bool (None = all).
    Returns (total loss for backprop, per-position CE in nats [B, T] detached, as fp32).
    """
    logits = logits.float()
    lse = torch.logsumexp(logits, dim=-1)                               # [B, T]
    ce = lse - logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1)     # [B, T] nats
    per_pos = ce + Z_LOSS_COEF * lse.pow(2)
    if valid is None:
        total = per_pos.mean()
    else:
        w = valid.float()
        total = (per_pos * w).sum() / w.sum().clamp(min=1)
    return total, ce.detach()


def non_embedding_params(cfg: M1Config) -> int:
    """Kaplan et al. 2020 N: parameters excluding the embedding (and the unembedding).

    Per layer: attention q,k,v,o = 4 d^2, MLP = 2 d mlp_dim. (RMSNorm gains and the 32 x heads
    relative-bias tables are counted too; they are negligible.)
    """
    d = cfg.d_model
    per_layer = 4 * d * d + 2 * d * cfg.mlp_dim + 2 * d + cfg.rel_num_buckets * cfg.n_heads
    return cfg.n_layers * per_layer + d  # + final norm gain


def flops_per_byte(cfg: M1Config, context: int | None = None) -> float:
    """Forward (inference) FLOPs per byte.

    Kaplan et al. 2020, Table 1: C_forward per token ~= 2 N + 2 n_layer n_ctx d_attn, with N the
    non-embedding parameters and d_attn = d_model here. M1 has one token per byte, so this is also
    FLOPs per byte. For m1-3m at the paper's context 1024: 2 * 2.36M + 2*3*1024*256 = 6.29M
    (the paper reports 6.0M). Under Equal-Info windows the effective context is the window length
    (~16 bytes), so the context term almost vanishes.
    """
    n_ctx = cfg.context if context is None else context
    return 2.0 * non_embedding_params(cfg) + 2.0 * cfg.n_layers * n_ctx * cfg.d_model
