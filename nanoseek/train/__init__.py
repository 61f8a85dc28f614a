"""Training: the shared loop (`train`), pretraining and SFT entry points, checkpoints,
scale-out. `speedrun` and GRPO call these from Python; the CLI only parses arguments."""

from nanoseek.train.checkpoint import RunError
from nanoseek.train.pretrain import DataConfig, pretrain
from nanoseek.train.sft import SFTLoader, sft
from nanoseek.train.trainer import Trainer, TrainConfig, TrainingDiverged, TrainResult, train

__all__ = ["DataConfig", "RunError", "SFTLoader", "TrainConfig", "Trainer", "TrainResult", "TrainingDiverged",
           "pretrain", "sft", "train"]
