"""Supervised fine-tuning on chats with worked reasoning: loss on the assistant's tokens only.

    nanoseek sft --model runs/base --out runs/sft [--data my_chats/] --steps 200

Starts from a checkpoint directory (weights + tokenizer), trains on the default SFT mixture
(`nanoseek.data.corpus.sft_conversations`: identity chats, task problems with their worked
traces in <think>, small talk) plus the user's `{"messages": [...]}` records under --data.
Rows come from `SFTDataset`, whose labels are already shifted and -100 outside the
assistant's turns: the model's loss takes them as they are.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from nanoseek.model.loss import IGNORE_INDEX
from nanoseek.train import checkpoint as ckpt
from nanoseek.train import distributed
from nanoseek.train.pretrain import DataConfig, load_tokenizer
from nanoseek.train.trainer import TrainConfig, TrainResult, train


class SFTLoader:
    """Endless [B, T] batches of SFT rows for this rank, epoch after epoch, each epoch in an
    order drawn from (seed, epoch); global batch b gives rank r rows [(b*W + r)*B, +B) of it.
    The position is (epoch, step): `state_dict()` is all a resume needs."""

    def __init__(self, dataset, batch_size: int, seed: int, rank: int = 0, world_size: int = 1):
        self.dataset, self.batch_size, self.seed = dataset, batch_size, seed
        self.rank, self.world_size = rank, world_size
        # A row whose assistant tokens were all cut off by seq_len has no target: its mean loss
        # is NaN (0/0). Such rows teach nothing, so they are left out.
        self.rows = [i for i in range(len(dataset)) if bool((dataset[i][1] != IGNORE_INDEX).any())]
        if len(self.rows) < len(dataset):
            warnings.warn(f"{len(dataset) - len(self.rows)} of {len(dataset)} SFT rows have no assistant "
                          f"token within seq_len (truncated chats): skipped; a longer --seq-len keeps them",
                          RuntimeWarning, stacklevel=2)
        self.steps_per_epoch = len(self.rows) // (batch_size * world_size)
        if self.steps_per_epoch == 0:
            raise ckpt.RunError(f"{len(self.rows)} SFT rows are too few for one batch of "
                                f"{batch_size * world_size}: lower --batch-size")
        self.epoch, self.step = 0, 0

    def state_dict(self) -> dict:
        return {"seed": self.seed, "epoch": self.epoch, "step": self.step}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.step = state["epoch"], state["step"]

    def __iter__(self) -> "SFTLoader":
        return self

    def __next__(self) -> tuple[torch.Tensor, torch.Tensor]:
        order = np.random.default_rng([self.seed, self.epoch]).permutation(len(self.rows))
        first = (self.step * self.world_size + self.rank) * self.batch_size
        rows = [self.dataset[self.rows[int(i)]] for i in order[first : first + self.batch_size]]
        self.step += 1
        if self.step == self.steps_per_epoch:
            self.epoch, self.step = self.epoch + 1, 0
        return torch.stack([r[0] for r in rows]), torch.stack([r[1] for r in rows])  # [B, T] each


def sft(
    model_dir: str | Path,
    out_dir: str | Path,
    *,
    data_dir: str | Path | None = None,
    train_config: TrainConfig | None = None,
    data: DataConfig | None = None,
    tasks_per_family: int = 200,
    chats: list[list[dict]] | None = None,
    resume: bool = False,
) -> TrainResult:
    """Fine-tune the checkpoint in `model_dir` on chats, writing `out_dir`. `chats` replaces
    the default mixture (and --data) when given."""
    from nanoseek import Transformer
    from nanoseek.data.corpus import SFTDataset, sft_conversations

    train_config = train_config or TrainConfig(lr=3e-4, warmup_steps=10, schedule="cosine")
    data = data or DataConfig()
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    if not (model_dir / "config.json").is_file():
        raise ckpt.RunError(f"--model {model_dir} is not a checkpoint directory (no config.json)")
    if data_dir is not None and not Path(data_dir).is_dir():
        raise ckpt.RunError(f"data directory {data_dir} does not exist")
    tokenizer = load_tokenizer(model_dir)
    info = distributed.init_distributed()
    run = {"kind": "sft", "init": str(model_dir.resolve()),
           "data": str(Path(data_dir).resolve()) if data_dir else None, **asdict(data),
           "grad_accum": train_config.grad_accum, "world_size": info.world_size}
    ckpt.check_out_dir(out_dir, run, resume)
    distributed.barrier()
    if chats is None:
        chats = sft_conversations(data_dir, tasks_per_family=tasks_per_family, seed=data.seed)
    dataset = SFTDataset(chats, tokenizer, data.seq_len)
    loader = SFTLoader(dataset, data.batch_size, data.seed, info.rank, info.world_size)
    model = Transformer.from_pretrained(model_dir)
    if info.is_main:
        ckpt.write_run(out_dir, run)
    return train(train_config, model, loader, out_dir=out_dir, tokenizer=tokenizer, resume=resume)
