"""nanoseek: the DeepSeek system, small enough to train on a laptop CPU."""

from nanoseek.config import ModelConfig
from nanoseek.model.transformer import Transformer

__all__ = ["ModelConfig", "Transformer"]
