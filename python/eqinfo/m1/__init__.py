"""M1: the small byte-level transformer LM that drives the arithmetic coder."""
from .config import M1Config, PRESETS, get_preset
from .model import M1, flops_per_byte, non_embedding_params, relative_position_bucket

__all__ = ["M1Config", "PRESETS", "get_preset", "M1", "flops_per_byte",
           "non_embedding_params", "relative_position_bucket"]
