"""DeepSeek-V3's fine-grained quantized GEMMs (V3 report, section 3.3), with int8 for FP8.

V3 trains its linears in FP8 with one scale per 1x128 tile of activations and gradients and one
per 128x128 block of weights, and promotes partial sums to fp32 every 128 elements of the
contraction, so an outlier costs precision only in its own tile. CPUs have int8 units (VNNI)
where GPUs have FP8 ones; the recipe is the same with symmetric int8 (scale = amax / 127):

    forward  y  = x @ w.T     contraction over in-features: x in 1x128 tiles, w in blocks
    dgrad    dx = dy @ w      over out-features: dy in 1x128 tiles, the same w blocks
    wgrad    dw = dy.T @ x    over tokens: dy and x in 128x1 tiles (each column, 128 tokens)

Every GEMM is a sum over 128-wide chunks of the contraction of an exact int8 x int8 -> int32
product, scaled to fp32 by its two operands' chunk scales. The linears of MLA, the dense MLP,
the shared and routed experts and the MTP projection run this way (`quantize_linears`); the
embedding, output head, norms, router and attention core stay in higher precision, as in V3.

Legend: M = rows (tokens), K = contraction, N = output columns, C = ceil(K / 128) chunks.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nanoseek.model.moe import RoutedExperts

BLOCK = 128  # tile length and block side, as in V3
INT8_MAX = 127.0


def quantize_tiles(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """x [R, L] -> int8 [R, L] and fp32 scales [R, ceil(L/128)]: one scale per 1x128 tile of a row
    (the last tile may be shorter)."""
    r, length = x.shape
    pad = -length % BLOCK
    tiles = F.pad(x.float(), (0, pad)).view(r, -1, BLOCK)  # [R, C, 128]
    scale = tiles.abs().amax(-1).clamp_min(1e-30) / INT8_MAX  # [R, C]
    q = (tiles / scale.unsqueeze(-1)).round().clamp_(-INT8_MAX, INT8_MAX).to(torch.int8)
    return q.view(r, -1)[:, :length], scale


def quantize_blocks(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """w [N, K] -> int8 [N, K] and fp32 scales [ceil(N/128), ceil(K/128)]: one per 128x128 block."""
    n, k = w.shape
    padded = F.pad(w.float(), (0, -k % BLOCK, 0, -n % BLOCK))
    blocks = padded.view(padded.shape[0] // BLOCK, BLOCK, -1, BLOCK)  # [N/128, 128, K/128, 128]
    scale = blocks.abs().amax((1, 3)).clamp_min(1e-30) / INT8_MAX  # [N/128, K/128]
    q = (blocks / scale[:, None, :, None]).round().clamp_(-INT8_MAX, INT8_MAX).to(torch.int8)
    return q.view(padded.shape)[:n, :k], scale


def tiled_int8_matmul(a: torch.Tensor, a_scale: torch.Tensor, b: torch.Tensor, b_scale: torch.Tensor) -> torch.Tensor:
    """a [M, K] int8 with a_scale [M, C], b [K, N] int8 with b_scale [C, N] -> fp32 [M, N]:
    sum over chunks c of (a[:, c] @ b[c, :]) * a_scale[:, c] * b_scale[c, :], each chunk's
    product exact in int32 and promoted to fp32 before the next is added."""
    out = None
    for c in range(a_scale.shape[1]):
        chunk = slice(c * BLOCK, (c + 1) * BLOCK)
        part = _int_matmul(a[:, chunk], b[chunk]) * (a_scale[:, c : c + 1] * b_scale[c])
        out = part if out is None else out + part
    return out


def _int_matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """int8 [M, k] @ int8 [k, N] -> exact products as fp32 [M, N]."""
    if int_mm_takes(a, b):
        return torch._int_mm(a.contiguous(), b).float()
    # Shapes the int8 kernel refuses: the same integers in fp32 (exact: |sum| <= 128 * 127^2 < 2^24).
    return a.float() @ b.float()


def int_mm_takes(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether torch._int_mm multiplies these operands: any shape on the CPU (where few rows,
    an expert's share of a small batch, still run several times faster than the fp32
    product); on CUDA more than 16 rows and K and N in multiples of 8."""
    return a.device.type == "cpu" or (a.shape[0] > 16 and a.shape[1] % 8 == 0 and b.shape[1] % 8 == 0)


def _expand_block_scale(scale: torch.Tensor, n: int, dim: int) -> torch.Tensor:
    """Block scales [N/128, C] repeated to one per row along `dim` (0: rows of N), cut to n."""
    return scale.repeat_interleave(BLOCK, dim).narrow(dim, 0, n)


def int8_forward(x: torch.Tensor, weight: torch.Tensor,
                 keep: bool = True) -> tuple[torch.Tensor, tuple[torch.Tensor, ...] | None]:
    """x [M, K] @ weight [N, K].T -> (fp32 [M, N], the int8 operands the backward needs, or None
    without `keep`)."""
    xq, xs = quantize_tiles(x)  # 1x128 tiles along in-features
    wq, ws = quantize_blocks(weight)
    y = tiled_int8_matmul(xq, xs, wq.t(), _expand_block_scale(ws, weight.shape[0], 0).t())
    return y, ((*quantize_tiles(x.t()), wq, ws) if keep else None)


def backward_operands(x: torch.Tensor, weight: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """x.T in 128x1 tiles (int8 [K, M], scales [K, M/128]) and weight in blocks."""
    return (*quantize_tiles(x.t()), *quantize_blocks(weight))


def int8_backward(grad: torch.Tensor, saved: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """grad [M, N] of y -> (grad of x [M, K], grad of weight [N, K]), both fp32."""
    xtq, xts, wq, ws = saved
    gq, gs = quantize_tiles(grad)  # 1x128 tiles along out-features
    grad_x = tiled_int8_matmul(gq, gs, wq, _expand_block_scale(ws, wq.shape[1], 1))  # [M, K]
    gtq, gts = quantize_tiles(grad.t())  # 128x1 tiles: each out-feature, 128 tokens
    return grad_x, tiled_int8_matmul(gtq, gts, xtq.t(), xts.t())  # [N, K]


class _Int8Linear(torch.autograd.Function):
    """y = x @ w.T with all three GEMMs in block-scaled int8; saves only int8 operands and scales."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        y, saved = int8_forward(x, weight)
        ctx.save_for_backward(*saved)
        return y

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return int8_backward(grad, ctx.saved_tensors)


def int8_linear(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """x [..., K], weight [N, K] -> x @ weight.T [..., N] (x's dtype) through block-scaled int8 GEMMs."""
    device = x.device.type
    # Under autocast the output takes autocast's dtype, as an autocast matmul's would.
    out_dtype = torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else x.dtype
    with torch.autocast(device, enabled=False):
        y = _Int8Linear.apply(x.reshape(-1, x.shape[-1]), weight)  # [M, N] fp32
    return y.to(out_dtype).unflatten(0, x.shape[:-1])


class Int8Linear(nn.Linear):
    """An nn.Linear (same parameters and state-dict keys) whose GEMMs run in block-scaled int8."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = int8_linear(x, self.weight)
        return y if self.bias is None else y + self.bias


def quantize_linears(model: nn.Module, keep: tuple[str, ...] = ("lm_head",)) -> int:
    """Turn every nn.Linear of `model` but those named in `keep` into an Int8Linear in place
    (parameters untouched: an optimizer built before or after sees the same tensors), and the
    routed experts' grouped GEMMs into int8 ones. Returns how many linears changed."""
    changed = 0
    for name, module in model.named_modules():
        if type(module) is nn.Linear and name.rsplit(".", 1)[-1] not in keep:
            module.__class__ = Int8Linear
            changed += 1
        elif type(module) is RoutedExperts:
            module.__class__ = Int8RoutedExperts
            changed += 2
    return changed


# ---- routed experts: one int8 linear per expert over its block of sorted rows ---------------
# Custom ops, like the bf16 grouped GEMM in moe.py: their loop over experts reads the routing
# (data-dependent sizes), which torch.compile must not trace into.


@torch.library.custom_op("nanoseek::int8_grouped_mm", mutates_args=())
def int8_grouped_matmul(x: torch.Tensor, w: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """x [M, in] sorted by expert, w [E, out, in], offsets [E] cumulative rows -> fp32 [M, out]."""
    out = x.new_zeros(x.shape[0], w.shape[1], dtype=torch.float32)
    for e, rows in _expert_rows(offsets):
        out[rows] = int8_forward(x[rows], w[e], keep=False)[0]  # the backward quantizes again
    return out


@torch.library.custom_op("nanoseek::int8_grouped_mm_backward", mutates_args=())
def _int8_grouped_backward(grad: torch.Tensor, x: torch.Tensor, w: torch.Tensor,
                           offsets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    grad_x = torch.zeros_like(x, dtype=torch.float32)
    grad_w = torch.zeros_like(w, dtype=torch.float32)
    for e, rows in _expert_rows(offsets):
        # The forward's int8 operands again, rather than keeping E sets of them.
        grad_x[rows], grad_w[e] = int8_backward(grad[rows], backward_operands(x[rows], w[e]))
    return grad_x.to(x.dtype), grad_w


@int8_grouped_matmul.register_fake
def _(x, w, offsets):
    return x.new_empty(x.shape[0], w.shape[1], dtype=torch.float32)


@_int8_grouped_backward.register_fake
def _(grad, x, w, offsets):
    return torch.empty_like(x), torch.empty_like(w, dtype=torch.float32)


def _save_inputs(ctx, inputs, output) -> None:
    ctx.save_for_backward(*inputs)


def _grouped_backward(ctx, grad):
    x, w, offsets = ctx.saved_tensors
    return *_int8_grouped_backward(grad.contiguous(), x, w, offsets), None


int8_grouped_matmul.register_autograd(_grouped_backward, setup_context=_save_inputs)


class Int8RoutedExperts(RoutedExperts):
    """RoutedExperts (same parameters) whose grouped GEMMs run one int8 linear per expert."""

    grouped_mm = staticmethod(int8_grouped_matmul)


def _expert_rows(offsets: torch.Tensor):
    """(expert, slice of its sorted rows) for every expert that got rows."""
    start = 0
    for e, end in enumerate(offsets.tolist()):
        if end > start:
            yield e, slice(start, end)
        start = end
