"""Int8 weights for decoding, and what a model's weights weigh.

    quantize_int8     every eligible nn.Linear -> QuantizedLinear, in place
    QuantizedLinear   int8 weight [N, K] with one fp32 scale per output row (per channel)
    weight_report     bytes of weights held, and bytes a decode step reads per token

A decode step at batch 1 reads every weight once per token, so its speed is memory bandwidth
over weight bytes: int8 reads a quarter of fp32's bytes, half of bf16's. Scales are symmetric,
per output channel: `w ~= scale[n] * q[n, k]`, q in [-127, 127].

Kept in their stored precision: embeddings (a decode step reads one row of them), norms, the
MoE router (its scores choose the experts), the routed experts (3D tensors, not nn.Linear), a
head tied to the embedding, and MLA's kv_b_proj, whose weight absorbed decode reads directly as
per-head matrices (model/mla.py): dequantizing it every step would read more bytes than it saves.

The forward quantizes its input too, one symmetric int8 scale per row (token), and multiplies
with an int8 GEMM with exact int32 accumulation (VNNI dot products where the CPU has them):
dynamic W8A8, the scheme torchao calls int8 dynamic-activation / int8-weight, and llama.cpp's
Q8_0 with a row for a block. Each activation rounds to within half its row's scale.

Two kernels, the same bits. Up to MATVEC_MAX_ROWS rows (batch 1, a draft's verification)
`torch._int_mm` on the int8 weight the layer holds. More rows (several streams, prompt chunks):
oneDNN's int8 GEMM on a copy of the weight packed on first use (compile.packed), far faster
there than `_int_mm` (benchmarks/decode_kernels.py). At one row the packed GEMM gains less than
its copy costs: it would double the int8 weights of every chat. A batching engine holds the
copy; weight_report counts it.
"""

from __future__ import annotations

import torch
from torch import nn

from nanoseek.inference.compile import MATVEC_MAX_ROWS, packed, packed_bytes
from nanoseek.model.mla import MultiHeadLatentAttention
from nanoseek.model.moe import RoutedExperts

QUANTIZE_MODES = ("int8",)
ONEDNN_INT8 = torch.backends.mkldnn.is_available()  # else `_int_mm` at every row count


class QuantizedLinear(nn.Module):
    """y = x @ (scale[:, None] * q).T + bias, with q int8 [N, K] and scale fp32 [N]."""

    def __init__(self, qweight: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor | None) -> None:
        super().__init__()
        self.out_features, self.in_features = qweight.shape
        self.register_buffer("qweight", qweight)  # [N, K] int8
        self.register_buffer("scale", scale)  # [N] fp32
        self.bias = None if bias is None else nn.Parameter(bias, requires_grad=False)

    @classmethod
    @torch.no_grad()
    def from_linear(cls, linear: nn.Linear) -> "QuantizedLinear":
        qweight, scale = quantize_rows(linear.weight.float())  # [N, K], [N, 1]
        bias = None if linear.bias is None else linear.bias.detach().clone()
        return cls(qweight, scale.squeeze(1), bias)

    def dequantized(self) -> torch.Tensor:
        """The weight these int8 values and scales stand for, [N, K] fp32."""
        return self.qweight.float() * self.scale[:, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [..., K] -> [..., N] in x's dtype."""
        q, row_scale = quantize_rows(x.reshape(-1, self.in_features).float())  # [M, K] int8, [M, 1]
        if q.shape[0] > MATVEC_MAX_ROWS and ONEDNN_INT8:
            y = torch.ops.nanoseek.int8_packed_mm(q, self.qweight, self.scale)  # [M, N]
        else:
            y = torch._int_mm(q, self.qweight.t()).float() * self.scale
        y = y * row_scale
        if self.bias is not None:
            y = y + self.bias
        return y.to(x.dtype).reshape(*x.shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


_NO_ZERO_POINTS = torch.zeros(1, dtype=torch.long)  # the weights are symmetric


@torch.library.custom_op("nanoseek::int8_packed_mm", mutates_args=())
def int8_packed_mm(q: torch.Tensor, qweight: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """`_int_mm(q, qweight.T).float() * scale` bit for bit, q [M, K] int8, qweight [N, K] int8 and
    scale [N] fp32 -> [M, N] fp32: oneDNN's int8 GEMM on qweight packed once."""
    unsigned = q.view(torch.uint8) ^ 128  # q + 128: oneDNN takes unsigned activations and a zero point
    return torch.ops.onednn.qlinear_pointwise(unsigned.contiguous(), 1.0, 128, packed(qweight), scale,
                                              _NO_ZERO_POINTS, None, 1.0, 0, torch.float32, "none", [None], "")


@int8_packed_mm.register_fake
def _(q, qweight, scale):
    return q.new_empty(q.shape[0], qweight.shape[0], dtype=torch.float32)


def quantize_rows(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """x [M, K] fp32 -> int8 [M, K] and the fp32 scale of each row [M, 1]: x ~= scale * q."""
    scale = x.abs().amax(dim=1, keepdim=True).clamp(min=torch.finfo(torch.float32).tiny) / 127
    return (x / scale).round().clamp(-127, 127).to(torch.int8), scale


def quantize_int8(model: nn.Module) -> nn.Module:
    """Replace the model's linear layers (see the module docstring for those kept) by
    QuantizedLinear, in place; returns the model. A quantized model is for inference only."""
    embeddings = {id(m.weight) for m in model.modules() if isinstance(m, nn.Embedding)}
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if not isinstance(child, nn.Linear) or id(child.weight) in embeddings:
                continue
            if isinstance(parent, MultiHeadLatentAttention) and name == "kv_b_proj":
                continue
            setattr(parent, name, QuantizedLinear.from_linear(child))
    return model


def check_mode(quantize: str | None) -> None:
    """Raise ValueError unless `quantize` is None or one of QUANTIZE_MODES."""
    if quantize is not None and quantize not in QUANTIZE_MODES:
        raise ValueError(f"quantize must be one of {QUANTIZE_MODES} or None, got {quantize!r}")


def weight_report(model: nn.Module) -> dict[str, int]:
    """{"weight_bytes": bytes of all weights held, copies packed for oneDNN included,
    "bytes_per_token": bytes a decode step reads per token at batch 1}: every matrix once, but
    one row of an embedding that is not also the output head, and only the chosen share
    (experts per token / experts) of the routed experts; the MTP modules are not counted in the
    second (plain decoding does not run them)."""
    held = read = 0.0
    head = getattr(model, "lm_head", None)
    head_weight = model.embed_tokens.weight if head is None else getattr(head, "weight", None)
    seen: set[int] = set()
    for owner_name, owner in model.named_modules():
        for name, t in [*owner.named_parameters(recurse=False), *owner.named_buffers(recurse=False)]:
            if id(t) in seen:  # a tied head is the embedding's tensor
                continue
            seen.add(id(t))
            size = t.numel() * t.element_size()
            held += size + packed_bytes(t)  # a copy packed for oneDNN is held, not read
            if owner_name.split(".")[0] == "mtp":
                continue
            if isinstance(owner, nn.Embedding) and t is not head_weight:
                size /= t.shape[0]
            elif isinstance(owner, RoutedExperts):
                size *= model.config.num_experts_per_tok / t.shape[0]
            read += size
    return {"weight_bytes": int(held), "bytes_per_token": int(read)}


def describe(model: nn.Module, quantize: str | None) -> str:
    """One line for a log: the weights' size and what a decode step reads per token."""
    r = weight_report(model)
    return (f"weights {r['weight_bytes'] / 2**20:.1f} MiB ({quantize or 'unquantized'}), "
            f"{r['bytes_per_token'] / 2**20:.1f} MiB read per decoded token")
