"""DeepSeek's FP8 checkpoint layout: block-scaled `float8_e4m3fn` weights.

DeepSeek-V3/R1 store most linear weights as fp8, each with a float32 companion named like the
weight plus `_scale_inv` holding one scale per block (128x128 in their `config.json`'s
`quantization_config.weight_block_size`); edge blocks may be partial. The real weight is the
fp8 value times its block's scale. We dequantize on load and compute in the loader's dtype.
"""

from __future__ import annotations

from typing import Any

import torch

SCALE_SUFFIX = "_scale_inv"


def is_fp8(dtype: torch.dtype) -> bool:
    """Any 8-bit float (e4m3fn as DeepSeek's, e5m2, the fnuz variants): none loads without scales."""
    return dtype.is_floating_point and dtype.itemsize == 1


def weight_block_size(config: dict[str, Any]) -> tuple[int, int] | None:
    """The (rows, cols) of a scale block from a `config.json` dict; None when it has no
    `quantization_config` (a checkpoint in plain floats)."""
    quant = config.get("quantization_config")
    if quant is None:
        return None
    if not isinstance(quant, dict):
        raise ValueError(f"quantization_config must be an object, got {quant!r}")
    method = quant.get("quant_method")
    if method != "fp8":
        raise ValueError(f"quantization_config.quant_method must be 'fp8' (DeepSeek's block-scaled "
                         f"weights, the only quantized layout loaded), got {method!r}")
    block = quant.get("weight_block_size")
    if not (isinstance(block, list) and len(block) == 2
            and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in block)):
        raise ValueError(f"quantization_config.weight_block_size must be two positive integers, got {block!r}")
    return block[0], block[1]


def dequantize_blocks(weight: torch.Tensor, scale_inv: torch.Tensor,
                      block: tuple[int, int] = (128, 128)) -> torch.Tensor:
    """The float32 values a block-quantized weight stands for: each fp8 value times its block's
    scale_inv (DeepSeek's name: the inverse of the factor that scaled the block into fp8's range).

    weight: [out, in] (fp8); scale_inv: [ceil(out / block[0]), ceil(in / block[1])], the blocks
    at the bottom and right edges partial. A scale_inv of any other shape is a ValueError:
    cutting it to size would hide the mismatch.
    """
    if weight.ndim != 2:
        raise ValueError(f"block scales need a 2-D weight, got shape {tuple(weight.shape)}")
    rows, cols = weight.shape
    grid = (-(-rows // block[0]), -(-cols // block[1]))
    if tuple(scale_inv.shape) != grid:
        raise ValueError(f"scale_inv has shape {tuple(scale_inv.shape)}, but a {rows}x{cols} weight in "
                         f"{block[0]}x{block[1]} blocks needs {grid}")
    # [out, in]: each scale repeated over its block, the partial edge blocks cut to size
    scale = scale_inv.float().repeat_interleave(block[0], dim=0)[:rows].repeat_interleave(block[1], dim=1)[:, :cols]
    return weight.to(torch.float32).mul_(scale)
