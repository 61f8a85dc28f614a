"""Scale-out under torchrun: process-group setup, wrapping the model for data parallelism,
and the few collectives the trainer needs. The model file knows nothing of any of this.

    torchrun --nproc_per_node N -m nanoseek.cli pretrain ...   (or the `nanoseek` script)

- backend: NCCL when CUDA is available, gloo on CPU;
- "ddp": every rank holds the whole model, gradients are averaged (DistributedDataParallel);
- "fsdp": FSDP2 (`fully_shard`) shards parameters, gradients and optimizer state per decoder
  layer, for models that do not fit one device;
- "replicate": every rank holds the whole model and the trainer averages the gradients in one
  all-reduce after the last backward (`all_reduce_grads`): no overlap with the backward, but
  ranks may run different numbers of forward/backward passes, as GRPO's rollouts make them;
- data is sharded by the loaders (rank r of W takes its own rows of each global batch);
- only rank 0 logs and writes files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

PARALLEL_MODES = ("ddp", "fsdp", "replicate")


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def init_distributed() -> DistInfo:
    """Join the process group torchrun describes in the environment (RANK, WORLD_SIZE, ...);
    a plain `python` run is rank 0 of 1 and starts no group."""
    if dist.is_available() and dist.is_initialized():
        return current()
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return current()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
        dist.init_process_group("nccl", device_id=torch.device("cuda", local_rank))
    else:
        dist.init_process_group("gloo")
    return current()


def current() -> DistInfo:
    """This process's place in the (possibly absent) process group."""
    cuda = torch.cuda.is_available()
    if not (dist.is_available() and dist.is_initialized()):
        return DistInfo(device=torch.device("cuda", torch.cuda.current_device()) if cuda else torch.device("cpu"))
    local_rank = int(os.environ.get("LOCAL_RANK", dist.get_rank()))
    device = torch.device("cuda", local_rank) if cuda and dist.get_backend() == "nccl" else torch.device("cpu")
    return DistInfo(dist.get_rank(), dist.get_world_size(), local_rank, device)


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def wrap(model: nn.Module, mode: str, info: DistInfo, unused_params: bool = False) -> nn.Module:
    """The module to run forward/backward on. Single process: the model itself. `unused_params`:
    some steps leave parameters without a gradient (DDP must then look for them)."""
    if not info.distributed:
        return model
    if mode == "ddp":
        from torch.nn.parallel import DistributedDataParallel as DDP

        # broadcast_buffers=False: the MoE load counters are per-rank buffers that the bias
        # update all-reduces; rank 0's copy must not overwrite the others' at each forward.
        device_ids = [info.device.index] if info.device.type == "cuda" else None
        return DDP(model, device_ids=device_ids, broadcast_buffers=False, find_unused_parameters=unused_params)
    if mode == "fsdp":
        from torch.distributed.fsdp import fully_shard

        # One FSDP unit per decoder block (MTP's included), then the root for the rest: the
        # embedding, norms, head and MTP's projections, which the root's forward touches
        # directly (shared_head.norm is called outside its module's forward).
        for block in [*model.layers, *(m.block for m in model.mtp)]:
            fully_shard(block)
        fully_shard(model)
        return model
    if mode == "replicate":
        for t in [*model.parameters(), *model.buffers()]:  # start from rank 0's state, as DDP does
            dist.broadcast(t.data, 0)
        return model
    raise ValueError(f"parallel mode must be one of {PARALLEL_MODES}, got {mode!r}")


def unwrap(model: nn.Module) -> nn.Module:
    """The Transformer inside a DDP wrapper (FSDP2 shards in place: the module is the model)."""
    return model.module if hasattr(model, "module") else model


def all_reduce(tensor: torch.Tensor, op: str = "sum") -> torch.Tensor:
    """In-place all-reduce ("sum", "avg" or "max"); a no-op on one process."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        if op == "avg":  # gloo has no AVG
            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
            tensor /= dist.get_world_size()
        else:
            dist.all_reduce(tensor, op={"sum": dist.ReduceOp.SUM, "max": dist.ReduceOp.MAX}[op])
    return tensor


def all_reduce_grads(params: list[nn.Parameter]) -> None:
    """Average the ranks' gradients in place, in one collective (replicate mode). A parameter
    that no rank gave a gradient keeps None (AdamW skips it, as on one process); one that some
    ranks did not reach counts as zeros there."""
    if not (dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
        return
    reached = torch.tensor([float(p.grad is not None) for p in params], device=params[0].device)
    all_reduce(reached, "max")
    live = [p for p, r in zip(params, reached.tolist()) if r]
    if not live:
        return
    for p in live:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    flat = all_reduce(torch.cat([p.grad.flatten() for p in live]), "avg")
    for p, g in zip(live, flat.split([p.numel() for p in live])):
        p.grad.copy_(g.view_as(p.grad))


def all_gather(tensor: torch.Tensor) -> torch.Tensor:
    """Every rank's `tensor` (one shape on all ranks) concatenated along dim 0 in rank order;
    the tensor itself on one process."""
    if not (dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
        return tensor
    parts = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, tensor.contiguous())
    return torch.cat(parts)


def barrier() -> None:
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.barrier()
