"""DeepSeekMoE: shared experts plus fine-grained routed experts with sigmoid, group-limited routing
and auxiliary-loss-free load balancing.

Legend: N = tokens (batch * time, flattened), D = hidden_size, E = routed experts,
K = experts per token, G = groups, I = moe_intermediate_size.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from nanoseek.config import ModelConfig
from nanoseek.model.mlp import MLP


class Router(nn.Module):
    """Sigmoid scores; the correction bias steers which experts are chosen, never their weights."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.top_k, self.n_group, self.topk_group = cfg.num_experts_per_tok, cfg.n_group, cfg.topk_group
        self.norm_topk_prob, self.scaling = cfg.norm_topk_prob, cfg.routed_scaling_factor
        self.weight = nn.Parameter(torch.empty(cfg.n_routed_experts, cfg.hidden_size))
        # fp32 buffer: updated by the balancing rule, not by gradients.
        self.register_buffer("e_score_correction_bias", torch.zeros(cfg.n_routed_experts, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x [N, D] -> scores [N, E] (fp32), weights [N, K], expert ids [N, K]."""
        scores = F.linear(x.float(), self.weight.float()).sigmoid()
        biased = scores + self.e_score_correction_bias
        if self.n_group > 1:
            biased = self._keep_best_groups(biased)
        idx = biased.topk(self.top_k, dim=-1, sorted=False).indices  # [N, K]
        weights = scores.gather(1, idx)
        if self.norm_topk_prob:
            weights = weights / (weights.sum(dim=-1, keepdim=True) + 1e-20)
        return scores, weights * self.scaling, idx

    def _keep_best_groups(self, biased: torch.Tensor) -> torch.Tensor:
        """Mask all but the `topk_group` groups whose top-2 biased scores sum highest."""
        grouped = biased.unflatten(-1, (self.n_group, -1))  # [N, G, E/G]
        group_score = grouped.topk(2, dim=-1).values.sum(-1)  # [N, G]
        keep = group_score.topk(self.topk_group, dim=-1, sorted=False).indices
        group_mask = torch.zeros_like(group_score, dtype=torch.bool).scatter_(1, keep, True)
        return grouped.masked_fill(~group_mask.unsqueeze(-1), float("-inf")).flatten(1)


# Grouped matmul: y[rows of expert e] = x[rows of expert e] @ w[e].T for all experts in one call.
# torch._grouped_mm runs on CPU in torch 2.13 but has no CPU autograd formula, and its shape
# function insists on bf16 (a CUDA assumption) which breaks torch.compile; wrapping it as our own
# custom op gives it both. Its operands must be dense, hence the `.contiguous()` on gradients.


@torch.library.custom_op("nanoseek::grouped_mm", mutates_args=())
def grouped_matmul(x: torch.Tensor, w: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """x [M, in] sorted by expert, w [E, out, in], offsets [E] = cumulative rows -> [M, out]."""
    return torch._grouped_mm(x.contiguous(), w.transpose(-2, -1), offs=offsets)


@torch.library.custom_op("nanoseek::grouped_mm_weight_grad", mutates_args=())
def _grouped_weight_grad(grad: torch.Tensor, x: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """grad [M, out], x [M, in] -> per-expert grad.T @ x, [E, out, in]."""
    return torch._grouped_mm(grad.contiguous().t(), x.contiguous(), offs=offsets)


@grouped_matmul.register_fake
def _(x, w, offsets):
    return x.new_empty(x.shape[0], w.shape[1])


@_grouped_weight_grad.register_fake
def _(grad, x, offsets):
    return grad.new_empty(offsets.shape[0], grad.shape[1], x.shape[1])


def _grouped_setup(ctx, inputs, output) -> None:
    ctx.save_for_backward(*inputs)


def _grouped_backward(ctx, grad):
    x, w, offsets = ctx.saved_tensors
    grad_x = grouped_matmul(grad, w.transpose(-2, -1), offsets)  # grad @ w[e]
    return grad_x, _grouped_weight_grad(grad, x, offsets), None


grouped_matmul.register_autograd(_grouped_backward, setup_context=_grouped_setup)


# Up to this many tokens, gather each token's experts instead of sorting. Eager code copies the
# gathered weights, which pays only for a few tokens; compiled code fuses the gather into the
# matmul's reduction and reads the weights in place: at batch 8-32 a decode step took 15-35% less
# time than with sorting (whose per-expert BLAS calls run on one core).
GATHER_MAX_TOKENS = 4
GATHER_MAX_TOKENS_COMPILED = 32


class _PermuteRows(torch.autograd.Function):
    """y[perm] with a gather for the gradient too (g[inverse]): autograd's default backward of
    indexing is a scatter-add, several times slower on CPU, and a permutation never collides."""

    @staticmethod
    def forward(ctx, y: torch.Tensor, perm: torch.Tensor, inverse: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(inverse)
        return y[perm]

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (inverse,) = ctx.saved_tensors
        return grad[inverse], None, None


class RoutedExperts(nn.Module):
    """E SwiGLU experts stored as 3D tensors (transformers 5's layout); on disk they are per expert."""

    # The sorted path's grouped GEMM; int8 training's subclass runs a block-scaled one instead.
    grouped_mm = staticmethod(grouped_matmul)

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        e, d, i = cfg.n_routed_experts, cfg.hidden_size, cfg.moe_intermediate_size
        self.gate_up_proj = nn.Parameter(torch.empty(e, 2 * i, d))  # rows: [gate_proj | up_proj]
        self.down_proj = nn.Parameter(torch.empty(e, d, i))

    def forward(self, x: torch.Tensor, weights: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """x [N, D], weights/idx [N, K] -> sum over the K chosen experts of weight * expert(x), [N, D].

        Shapes depend only on N, never on the routing, so torch.compile captures the whole
        model in one graph (the decode step is compiled this way)."""
        limit = GATHER_MAX_TOKENS_COMPILED if torch.compiler.is_compiling() else GATHER_MAX_TOKENS
        if x.shape[0] <= limit:
            return self._gathered(x, weights, idx)
        return self._sorted(x, weights, idx)

    def _gathered(self, x: torch.Tensor, weights: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """Decode-sized batches: read only the chosen experts' weights (at batch 1 decoding is
        bound by reading weights, and sorting buys nothing)."""
        gate, up = torch.einsum("nkfd,nd->nkf", self.gate_up_proj[idx], x).chunk(2, dim=-1)  # [N, K, I]
        act = F.silu(gate) * up * weights.to(x.dtype).unsqueeze(-1)
        # Contract over I alone, then add the K experts: one reduction over (K, I) would walk the
        # two experts' weights interleaved, which compiled code cannot vectorise.
        return torch.einsum("nkdi,nki->nkd", self.down_proj[idx], act).sum(1)

    def _sorted(self, x: torch.Tensor, weights: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """Dispatch by sorting: the N*K (token, expert) pairs are ordered by expert so each
        expert's tokens are one contiguous block, computed together, then put back in pair order."""
        n, k = idx.shape
        flat_idx = idx.flatten()  # [N*K], pair p = (token p // K, slot p % K)
        order = flat_idx.argsort(stable=True)  # sorted position -> pair
        inverse = order.argsort()  # pair -> sorted position
        offsets = expert_counts(flat_idx, self.gate_up_proj.shape[0]).cumsum(0, dtype=torch.int32)
        pairs = x.unsqueeze(1).expand(n, k, -1).reshape(n * k, -1)  # [N*K, D], pair order
        h = self.grouped_mm(_PermuteRows.apply(pairs, order, inverse), self.gate_up_proj, offsets)  # [N*K, 2I]
        gate, up = h.chunk(2, dim=-1)
        y = self.grouped_mm(F.silu(gate) * up, self.down_proj, offsets)  # [N*K, D], sorted
        y = _PermuteRows.apply(y, inverse, order).view(n, k, -1)  # [N, K, D]
        # A product and a sum, not einsum: that is N batched [D, K] @ [K, 1] matmuls, several
        # times slower on CPU (docs/experiments.md).
        return (y * weights.to(y.dtype).unsqueeze(-1)).sum(1)


def expert_counts(flat_idx: torch.Tensor, n_experts: int) -> torch.Tensor:
    """Tokens per expert, [E] int32 (a fixed-size scatter: bincount's size would depend on the data)."""
    counts = torch.zeros(n_experts, dtype=torch.int32, device=flat_idx.device)
    return counts.scatter_add_(0, flat_idx, torch.ones_like(flat_idx, dtype=torch.int32))


class MoE(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.top_k = cfg.num_experts_per_tok
        self.gate = Router(cfg)
        self.experts = RoutedExperts(cfg)
        self.shared_experts = MLP(cfg.hidden_size, cfg.moe_intermediate_size * cfg.n_shared_experts) \
            if cfg.n_shared_experts else None
        # Tokens routed to each expert since the last bias update (training only).
        self.register_buffer("expert_load", torch.zeros(cfg.n_routed_experts), persistent=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x [B, T, D] -> (output [B, T, D], sequence-wise balance loss (scalar) when training)."""
        b, t, d = x.shape
        flat = x.reshape(-1, d)
        scores, weights, idx = self.gate(flat)
        out = self.experts(flat, weights, idx)
        if self.shared_experts is not None:
            out = out + self.shared_experts(flat)
        balance = None
        if self.training:
            with torch.no_grad():
                self.expert_load += expert_counts(idx.flatten(), self.expert_load.numel())
            balance = sequence_balance_loss(scores.view(b, t, -1), idx.view(b, t, -1))
        return out.view(b, t, d), balance

    @torch.no_grad()
    def update_bias(self, gamma: float) -> None:
        """Auxiliary-loss-free balancing (V3 section 2.1.2): nudge each expert's bias by gamma
        against the sign of its load's deviation from the mean, then start counting afresh."""
        load = self.expert_load
        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(load)  # balance the global batch, and keep ranks' biases identical
        self.gate.e_score_correction_bias += gamma * torch.sign(load.mean() - load)
        load.zero_()


def sequence_balance_loss(scores: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """V3's complementary sequence-wise balance loss, before its alpha, averaged over sequences.

    scores [B, T, E] sigmoid affinities, idx [B, T, K] chosen experts. Per sequence:
    f_i = E / (K * T) * #tokens choosing expert i, P_i = mean over tokens of s_i / sum_j s_j,
    loss = sum_i f_i * P_i (1.0 when perfectly balanced)."""
    b, t, e = scores.shape
    k = idx.shape[-1]
    chosen = torch.zeros(b, e, device=scores.device).scatter_add_(
        1, idx.reshape(b, -1), torch.ones(b, t * k, device=scores.device)
    )  # [B, E]
    f = chosen * (e / (k * t))
    p = (scores / scores.sum(-1, keepdim=True)).mean(1)  # [B, E]
    return (f * p).sum(-1).mean()
