"""M2: the decoder-only transformer LM trained over each method's token stream."""
from .config import M2Config, PRESETS, get_preset
from .model import (M2, actual_matmul_flops_per_token, forward_flops_per_token,
                    non_embedding_params, shift_right, train_flops_per_token)

__all__ = ["M2Config", "PRESETS", "get_preset", "M2", "actual_matmul_flops_per_token",
           "forward_flops_per_token", "non_embedding_params", "shift_right",
           "train_flops_per_token"]
