"""The output head and cross-entropy fused and chunked: no [N, V] logits kept for the backward.

A plain `F.cross_entropy(lm_head(h), labels)` keeps the fp32 logits of every token for the
backward ([B*T, V]: the largest activation of a small-vocabulary model at long contexts, and of
any model at DeepSeek's 129k vocabulary). Here the forward walks the rows in chunks, and for each
chunk computes the logits, their log-sum-exp, the loss and at once its gradients with respect to
the hidden states and the head's weight (softmax - one-hot); only those two gradients are kept.
The matmuls run in autocast's dtype when it is on (bf16 training); softmax and sums in fp32.

Legend: N = rows (tokens), D = hidden size, V = vocabulary, c = rows per chunk.
"""

from __future__ import annotations

import torch

IGNORE_INDEX = -100
CHUNK_ROWS = 1024


class _LinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, h: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor, chunk: int) -> torch.Tensor:
        """h [N, D], weight [V, D], labels [N] -> summed cross-entropy over the labelled rows."""
        device = h.device.type
        dtype = torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else h.dtype
        want_grads = ctx.needs_input_grad[0] or ctx.needs_input_grad[1]
        w = weight.to(dtype)
        total = torch.zeros((), device=h.device)
        grad_h = torch.empty_like(h) if want_grads else None
        grad_w = torch.zeros_like(weight, dtype=torch.float32) if want_grads else None
        with torch.autocast(device, enabled=False):
            for start in range(0, h.shape[0], chunk):
                rows = slice(start, start + chunk)
                hc, target = h[rows].to(dtype), labels[rows]
                valid = (target != IGNORE_INDEX).unsqueeze(-1)  # [c, 1]
                target = target.clamp(min=0).unsqueeze(-1)  # [c, 1]
                logits = (hc @ w.t()).float()  # [c, V]
                lse = logits.logsumexp(-1, keepdim=True)  # [c, 1]
                total += ((lse - logits.gather(1, target)) * valid).sum()
                if want_grads:
                    grad = (logits - lse).exp_().scatter_add_(1, target, -torch.ones_like(lse))
                    grad = (grad * valid).to(dtype)  # d(sum of losses) / d logits, [c, V]
                    grad_h[rows] = grad @ w
                    grad_w += (grad.t() @ hc).float()
        ctx.save_for_backward(grad_h, grad_w)
        return total

    @staticmethod
    def backward(ctx, grad_total: torch.Tensor):
        grad_h, grad_w = ctx.saved_tensors
        return grad_h * grad_total.to(grad_h.dtype), grad_w * grad_total, None, None


def linear_cross_entropy(h: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor,
                         chunk: int = CHUNK_ROWS) -> torch.Tensor:
    """Mean cross-entropy of the logits `h @ weight.T` against `labels`, over labelled tokens.

    h [..., D] (the final norm already applied), weight [V, D], labels [...] (IGNORE_INDEX = no
    loss). 0, not 0/0, when no token is labelled (an SFT row, an MTP depth past the answer)."""
    labels = labels.reshape(-1)
    total = _LinearCrossEntropy.apply(h.reshape(-1, h.shape[-1]), weight, labels, chunk)
    return total / (labels != IGNORE_INDEX).sum().clamp(min=1)
