"""AdamW with weight decay on weight matrices only.

Decayed: every parameter with 2+ dimensions (attention and MLP projections, the routed
experts' 3D stacks, the router, the output head, MTP's eh_proj). Not decayed: RMSNorm gains
(1D: decaying them pulls the scale toward 0, which the next layer must undo) and the token
embedding. The embedding is the one matrix we exempt: a row gets a gradient only when its
token is in the batch, but AdamW's decoupled decay shrinks every row every step, so rare
tokens' embeddings would drift to zero between visits. (With tied embeddings the shared
matrix is exempt too.) The model has no biases.

Betas (0.9, 0.95) as DeepSeek-V3 (and most LLM pretraining since GPT-3).
"""

from __future__ import annotations

import torch
from torch import nn


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Two AdamW groups: matrices with `weight_decay`, the rest (norms, embedding) without."""
    embedding = {id(m.weight) for m in model.modules() if isinstance(m, nn.Embedding)}
    decay, no_decay = [], []
    for p in model.parameters():
        if not p.requires_grad:
            continue
        (decay if p.ndim >= 2 and id(p) not in embedding else no_decay).append(p)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def build_optimizer(
    model: nn.Module,
    lr: float,
    weight_decay: float = 0.1,
    betas: tuple[float, float] = (0.9, 0.95),
    eps: float = 1e-8,
) -> torch.optim.AdamW:
    """AdamW over `param_groups`, with the fused kernel (one pass over each tensor) on CPU as
    on CUDA: for the speedrun preset's 9M parameters it measured 28 ms a step against 136 ms
    for `foreach` and 103 ms for the per-tensor loop (1 thread; 69 vs 882 ms on 2 busy ones)."""
    return torch.optim.AdamW(param_groups(model, weight_decay), lr=lr, betas=betas, eps=eps, fused=True)
