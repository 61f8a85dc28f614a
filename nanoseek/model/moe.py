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


class _GroupedMatmul(torch.autograd.Function):
    """y[rows of expert e] = x[rows of expert e] @ w[e].T, all experts in one kernel.

    torch._grouped_mm has no CPU autograd formula in torch 2.13, so we give it one; its inputs
    must be dense (hence `.contiguous()` on incoming gradients, which may be broadcast views)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, w: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x, w, offsets)
        return torch._grouped_mm(x, w.transpose(-2, -1), offs=offsets)  # [M, in] x [E, in, out]

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, w, offsets = ctx.saved_tensors
        grad = grad.contiguous()
        grad_x = torch._grouped_mm(grad, w, offs=offsets) if ctx.needs_input_grad[0] else None
        grad_w = torch._grouped_mm(grad.t(), x, offs=offsets) if ctx.needs_input_grad[1] else None
        return grad_x, grad_w, None


def grouped_matmul(x: torch.Tensor, w: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """x [M, in] sorted by expert, w [E, out, in], offsets [E] = cumulative rows -> [M, out]."""
    return _GroupedMatmul.apply(x, w, offsets)


class RoutedExperts(nn.Module):
    """E SwiGLU experts stored as 3D tensors (transformers 5's layout); on disk they are per expert."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        e, d, i = cfg.n_routed_experts, cfg.hidden_size, cfg.moe_intermediate_size
        self.gate_up_proj = nn.Parameter(torch.empty(e, 2 * i, d))  # rows: [gate_proj | up_proj]
        self.down_proj = nn.Parameter(torch.empty(e, d, i))

    def forward(self, x: torch.Tensor, weights: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """x [N, D], weights/idx [N, K] -> sum over the K chosen experts of weight * expert(x), [N, D].

        Dispatch by sorting: the N*K (token, expert) pairs are ordered by expert so each expert's
        tokens are one contiguous block, computed together, then added back to their tokens."""
        n, k = idx.shape
        flat_idx = idx.flatten()  # [N*K]
        order = flat_idx.argsort(stable=True)
        token = order // k  # token of each sorted pair
        counts = torch.bincount(flat_idx, minlength=self.gate_up_proj.shape[0])
        offsets = counts.cumsum(0).to(torch.int32)
        h = grouped_matmul(x[token], self.gate_up_proj, offsets)  # [N*K, 2I]
        gate, up = h.chunk(2, dim=-1)
        y = grouped_matmul(F.silu(gate) * up, self.down_proj, offsets)  # [N*K, D]
        y = y * weights.flatten()[order, None].to(y.dtype)
        return torch.zeros_like(x).index_add_(0, token, y)


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
                self.expert_load += torch.bincount(idx.flatten(), minlength=self.expert_load.numel())
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
