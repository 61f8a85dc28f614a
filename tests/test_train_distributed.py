"""Two CPU processes (gloo; DDP, FSDP2 and replicate) against one process with twice the
accumulation: same global batch, same update, so the same losses within float reduction-order
noise."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from nanoseek import Transformer
from nanoseek.config import tiny
from nanoseek.data.corpus import TokenLoader
from nanoseek.train import TrainConfig, train
from train_fixtures import make_shards

STEPS, BATCH, SEQ = 4, 2, 32


def _config(grad_accum: int, parallel: str = "ddp") -> TrainConfig:
    # MTP joins at step 2: the first steps leave its parameters without gradients on every rank
    return TrainConfig(steps=STEPS, grad_accum=grad_accum, lr=1e-2, warmup_steps=1, progress=False,
                       peak_flops=1e10, save_every=0, parallel=parallel, mtp_start=0.5, precision="fp32")


def _model(vocab: int) -> Transformer:
    torch.manual_seed(0)
    return Transformer(tiny().replace(vocab_size=vocab))


def _worker(rank: int, world: int, port: int, shards: str, out: str) -> None:
    """Train with DDP, then FSDP2 (writing checkpoints: the gather path), then replicate, in one process
    group; rank 0 saves the losses and router biases of each."""
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        results = {}
        for parallel in ("ddp", "fsdp", "replicate"):
            loader = TokenLoader(shards, BATCH, SEQ, seed=0, rank=rank, world_size=world)
            model = _model(300)
            run_dir = Path(out).parent / parallel if parallel == "fsdp" else None
            result = train(_config(1, parallel), model, loader, out_dir=run_dir)
            results[parallel] = {"losses": result.losses,
                                 "bias": [m.gate.e_score_correction_bias.clone() for m in model.moe_layers()]}
        if rank == 0:
            torch.save(results, out)
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    return make_shards(tmp_path_factory.mktemp("shards"))


@pytest.fixture(scope="module")
def single(shards):
    torch.set_num_threads(1)
    model = _model(300)
    result = train(_config(2), model, TokenLoader(shards, BATCH, SEQ, seed=0))
    return result.losses, [m.gate.e_score_correction_bias.clone() for m in model.moe_layers()]


@pytest.fixture(scope="module")
def two_processes(shards, tmp_path_factory):
    out = tmp_path_factory.mktemp("dist") / "rank0.pt"
    mp.spawn(_worker, args=(2, _free_port(), str(shards), str(out)), nprocs=2, join=True)
    return out.parent, torch.load(out)


@pytest.mark.parametrize("parallel", ["ddp", "fsdp", "replicate"])
def test_two_processes_match_one_with_double_accumulation(single, two_processes, parallel):
    got = two_processes[1][parallel]
    losses, biases = single
    torch.testing.assert_close(torch.tensor(got["losses"]), torch.tensor(losses), rtol=1e-5, atol=1e-5)
    for a, b in zip(got["bias"], biases):  # loads all-reduced: the same balancing decisions
        torch.testing.assert_close(a, b)


def test_fsdp_checkpoint_holds_the_full_model(two_processes):
    run_dir = two_processes[0] / "fsdp"
    model = Transformer.from_pretrained(run_dir)  # gathered from the shards by rank 0
    assert model.config.vocab_size == 300
    assert any(m.gate.e_score_correction_bias.abs().max() > 0 for m in model.moe_layers())
