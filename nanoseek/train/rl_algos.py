"""The RL math as pure functions over tensors, kept apart from the loop that calls them (as
verl keeps `core_algos` apart from its trainer): advantage estimators, policy losses, KL
estimators and token aggregations, each registered by name so a config picks one and a new
one is a function plus a name. Tests check each against hand computations.

Legend: P = prompts, G = samples per prompt (group), N = P * G samples, T = token positions
of a (right-padded) batch, V = vocab. Per-token tensors are [N, T] and aligned: position t of a
sample holds the log-prob of its token t+1, and `mask` is True on completion tokens only.
"""

from __future__ import annotations

from typing import Callable

import torch

ADVANTAGE_ESTIMATORS: dict[str, Callable[..., torch.Tensor]] = {}
POLICY_LOSSES: dict[str, Callable[..., tuple[torch.Tensor, torch.Tensor]]] = {}
KL_ESTIMATORS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {}
TOKEN_AGGREGATIONS: dict[str, Callable[..., torch.Tensor]] = {}


def register(table: dict, name: str) -> Callable:
    """Decorator: file a function in one of the tables above under `name`."""

    def add(fn: Callable) -> Callable:
        table[name] = fn
        return fn

    return add


# ---- advantages -------------------------------------------------------------------------


@register(ADVANTAGE_ESTIMATORS, "grpo")
def group_advantages(rewards: torch.Tensor, scale: bool = True, eps: float = 1e-4) -> torch.Tensor:
    """rewards [P, G] -> advantages [P, G]: r - mean over the group, divided by the group's
    (unbiased) std + eps when `scale` (False: Dr. GRPO). A group whose samples all score the
    same gets 0."""
    centered = mean_baseline(rewards)
    if not scale:
        return centered
    return centered / (rewards.std(-1, keepdim=True) + eps)


@register(ADVANTAGE_ESTIMATORS, "mean")
def mean_baseline(rewards: torch.Tensor, scale: bool = False) -> torch.Tensor:
    """rewards [P, G] -> advantages [P, G]: r - mean over the group, never divided by the std
    whatever `scale` says (nanochat's chat_rl, Dr. GRPO)."""
    return rewards - rewards.mean(-1, keepdim=True)


# ---- policy loss ------------------------------------------------------------------------


@register(POLICY_LOSSES, "clip")
def clipped_surrogate(logp: torch.Tensor, old_logp: torch.Tensor, advantages: torch.Tensor,
                      eps_low: float, eps_high: float) -> tuple[torch.Tensor, torch.Tensor]:
    """logp, old_logp [N, T] and advantages [N, 1] (or any shapes that broadcast) -> per-token
    loss -min(r A, clip(r, 1-eps_low, 1+eps_high) A) with r = pi/pi_old [N, T], and a bool mask
    [N, T] of the tokens where the clipped branch is the one taken (no gradient there)."""
    ratio = torch.exp(logp - old_logp)
    unclipped = ratio * advantages
    clipped = ratio.clamp(1 - eps_low, 1 + eps_high) * advantages
    return -torch.minimum(unclipped, clipped), clipped < unclipped


@register(POLICY_LOSSES, "no-clip")
def unclipped_surrogate(logp: torch.Tensor, old_logp: torch.Tensor, advantages: torch.Tensor,
                        eps_low: float, eps_high: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The policy gradient without a trust region (nanochat): per-token loss -r A [N, T], and a
    mask [N, T] that is all False (nothing is clipped; the eps are ignored). Meant for one inner
    update, where r = 1 and the gradient is -A d(log pi): more updates would run unconstrained."""
    ratio = torch.exp(logp - old_logp)
    return -ratio * advantages, torch.zeros_like(ratio, dtype=torch.bool)


# ---- KL to the reference ----------------------------------------------------------------


@register(KL_ESTIMATORS, "k3")
def kl_k3(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """logp, ref_logp [N, T] of the sampled tokens -> per-token KL(pi || ref) estimate [N, T]:
    ref/pi - log(ref/pi) - 1 (k3: unbiased, and never negative, unlike log(pi/ref))."""
    log_ratio = ref_logp - logp
    return torch.exp(log_ratio) - log_ratio - 1


# ---- token aggregation ------------------------------------------------------------------
# Each turns mask [N, T] into weights [N, T] that sum the per-token loss into the batch loss.
# `samples` and `tokens` are the batch's sample and completion-token counts; under data
# parallelism they are the per-rank means, so that the ranks' averaged gradients equal one
# process's on the whole batch.


@register(TOKEN_AGGREGATIONS, "sequence")
def sequence_mean(mask: torch.Tensor, samples: float, tokens: float, max_new_tokens: int) -> torch.Tensor:
    """GRPO: mean over each sample's tokens, then over the samples."""
    mask = mask.float()
    return mask / (mask.sum(-1, keepdim=True).clamp_min(1) * samples)


@register(TOKEN_AGGREGATIONS, "token")
def token_mean(mask: torch.Tensor, samples: float, tokens: float, max_new_tokens: int) -> torch.Tensor:
    """DAPO: mean over every completion token of the batch (long samples are not down-weighted)."""
    return mask.float() / max(tokens, 1.0)


@register(TOKEN_AGGREGATIONS, "constant")
def constant_norm(mask: torch.Tensor, samples: float, tokens: float, max_new_tokens: int) -> torch.Tensor:
    """Dr. GRPO: the token sum divided by samples * max_new_tokens, the same divisor whatever the
    lengths (no length bias at all)."""
    return mask.float() / (samples * max_new_tokens)


def token_weights(mask: torch.Tensor, norm: str, max_new_tokens: int, samples: float | None = None,
                  tokens: float | None = None) -> torch.Tensor:
    """mask [N, T] -> weights [N, T] by the aggregation named `norm`; `samples` and `tokens`
    default to this mask's own counts (one process)."""
    if norm not in TOKEN_AGGREGATIONS:
        raise ValueError(f"loss_norm must be one of {tuple(TOKEN_AGGREGATIONS)}, got {norm!r}")
    samples = float(mask.shape[0]) if samples is None else samples
    tokens = float(mask.sum()) if tokens is None else tokens
    return TOKEN_AGGREGATIONS[norm](mask, samples, tokens, max_new_tokens)


# ---- from logits ------------------------------------------------------------------------


def token_logprobs(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """logits [N, T, V] and the tokens that followed, targets [N, T] -> log p(target) [N, T]."""
    return logits.float().log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)


@torch.no_grad()
def token_entropy(logits: torch.Tensor) -> torch.Tensor:
    """logits [N, T, V] -> entropy of each next-token distribution [N, T] (a diagnostic: no gradient)."""
    logp = logits.float().log_softmax(-1)
    return -(logp.exp() * logp).sum(-1)
