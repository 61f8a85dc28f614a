"""nanoseek: the DeepSeek system, small enough to train on a laptop CPU."""

from nanoseek.config import ModelConfig
from nanoseek.interop.hf import from_pretrained
from nanoseek.model.llama import LlamaConfig, LlamaTransformer
from nanoseek.model.transformer import Transformer

__all__ = ["LlamaConfig", "LlamaTransformer", "ModelConfig", "Transformer", "from_pretrained"]
