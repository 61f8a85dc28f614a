"""Training precision: the arithmetic the matmuls run in, chosen from what the hardware has.

- fp32: everything in float32.
- bf16: mixed precision: fp32 master weights, gradients and optimizer state; matmuls autocast
  to bfloat16 (AVX512-BF16 or AMX on CPUs, tensor cores on GPUs).
- int8: DeepSeek-V3's fine-grained quantized training with int8 GEMMs (VNNI) where V3 used FP8:
  the linears of MLA, the experts and the dense MLP quantize their operands with block scales
  (`int8.py`); what V3 keeps in higher precision (embedding, output head, norms, router,
  attention core) runs as in bf16.
- auto: bf16 where the device has bf16 units, else fp32 (said in one line): bf16 is the
  fastest precision that holds the loss of fp32 (docs/experiments.md).
"""

from __future__ import annotations

import contextlib
from typing import Callable

import torch

PRECISIONS = ("auto", "fp32", "bf16", "int8")


def has_bf16_units(device: torch.device) -> bool:
    """Whether bf16 matmuls run on hardware made for them (not emulated through fp32)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    return False


def resolve_precision(precision: str, device: torch.device, log: Callable[[str], None] = print) -> str:
    """`auto` -> the precision this device trains fastest in; any other name is returned as is."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision != "auto":
        return precision
    if has_bf16_units(device):
        return "bf16"
    log(f"precision: fp32 (this {device.type} has no bf16 units, so bf16 matmuls would be slower)")
    return "fp32"


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast for bf16 and int8 (whose int8 linears ignore it); nothing for fp32."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision in ("bf16", "int8"))


def matmul_dtype(precision: str) -> torch.dtype:
    """The dtype whose GEMM peak MFU is taken against."""
    return {"fp32": torch.float32, "bf16": torch.bfloat16, "int8": torch.int8}[precision]
