"""Pretraining: a fresh model of a named preset on packed token shards (next token + MTP).

    nanoseek pretrain --data data/shards --out runs/base --preset speedrun --steps 200

The shards directory comes from `nanoseek.data.corpus.pack_shards` and holds (or is given
with --tokenizer) the tokenizer they were packed with; the model's vocabulary and special
token ids are taken from it. With a `MixtureConfig` (the speedrun's way) batches are drawn
from a `MixtureStream` instead, which generates task problems as training runs: the data
directory then only holds the tokenizer, and `mixture.json` in the output directory says how
many tokens each source (task family x language, chat, text) contributed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from nanoseek.config import ModelConfig, preset
from nanoseek.data.mixture import MixtureConfig, MixtureStream
from nanoseek.train import checkpoint as ckpt
from nanoseek.train import distributed
from nanoseek.train.trainer import TrainConfig, TrainResult, train


MIXTURE_FILE = "mixture.json"  # tokens trained per source, written by a mixture run


@dataclass
class DataConfig:
    batch_size: int = 8  # sequences per micro-batch per rank
    seq_len: int = 256
    seed: int = 0  # weights init and data order

    def __post_init__(self) -> None:
        for name in ("batch_size", "seq_len"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)}")


def load_tokenizer(directory: Path):
    from nanoseek.tokenizer import Tokenizer

    if not (directory / "tokenizer.json").is_file():
        raise ckpt.RunError(f"no tokenizer.json in {directory} (pass --tokenizer DIR)")
    return Tokenizer.load(directory)


def model_config_for(name: str, tokenizer, overrides: dict | None = None) -> ModelConfig:
    """The preset with the tokenizer's vocabulary and special ids (and any field overrides)."""
    cfg = preset(name).replace(vocab_size=tokenizer.vocab_size, bos_token_id=tokenizer.bos_id,
                               eos_token_id=tokenizer.eos_id, pad_token_id=tokenizer.pad_id)
    return cfg.replace(**(overrides or {}))


def pretrain(
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    model_preset: str = "speedrun",
    train_config: TrainConfig | None = None,
    data: DataConfig | None = None,
    tokenizer_dir: str | Path | None = None,
    model_overrides: dict | None = None,
    resume: bool = False,
    mixture: MixtureConfig | None = None,
) -> TrainResult:
    """Pretrain a `model_preset` model on the shards in `data_dir` (or on the stream of
    `mixture`, with the tokenizer from `data_dir`), writing `out_dir`."""
    from nanoseek import Transformer
    from nanoseek.data.corpus import TokenLoader

    train_config = train_config or TrainConfig()
    data = data or DataConfig()
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    if mixture is None and not (data_dir / "index.json").is_file():
        raise ckpt.RunError(f"data directory {data_dir} has no index.json (pack shards first)")
    tokenizer = load_tokenizer(Path(tokenizer_dir) if tokenizer_dir else data_dir)
    if mixture is None:
        packed_vocab = json.loads((data_dir / "index.json").read_text()).get("vocab_size")
        if packed_vocab not in (None, tokenizer.vocab_size):
            raise ckpt.RunError(f"{data_dir} was packed with a {packed_vocab}-token vocabulary, "
                                f"the tokenizer has {tokenizer.vocab_size}")
    cfg = model_config_for(model_preset, tokenizer, model_overrides)
    info = distributed.init_distributed()
    source = asdict(mixture) if mixture else str(data_dir.resolve())
    run = {"kind": "pretrain", "model": asdict(cfg), "data": source,
           **asdict(data), "grad_accum": train_config.grad_accum, "world_size": info.world_size}
    ckpt.check_out_dir(out_dir, run, resume)  # every rank: one that raised alone would hang the rest
    distributed.barrier()
    if mixture:
        loader = MixtureStream(tokenizer, mixture, data.batch_size, data.seq_len,
                               train_config.steps * train_config.grad_accum, info.rank)
    else:
        loader = TokenLoader(data_dir, data.batch_size, data.seq_len, data.seed, info.rank, info.world_size)
    torch.manual_seed(data.seed)
    model = Transformer(cfg)
    if info.is_main:
        ckpt.write_run(out_dir, run)
    result = train(train_config, model, loader, out_dir=out_dir, tokenizer=tokenizer, resume=resume)
    if mixture and info.is_main:
        ckpt.atomic_write_text(out_dir / MIXTURE_FILE, json.dumps(loader.tokens, indent=1, sort_keys=True) + "\n")
    return result
