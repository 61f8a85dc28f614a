"""Serving the model: MLA latent cache, continuous batching, sampling, MTP speculation; the
R1-Distill models (LlamaTransformer) on a grouped-query key/value cache.

    from nanoseek.inference import Engine, SamplingParams
    engine = Engine(model, max_slots=32, speculative=True, compile=True)
    completions = engine.generate([prompt_ids, ...], SamplingParams(temperature=0.6, top_p=0.95))
"""

from nanoseek.inference.async_engine import AsyncEngine, EngineError
from nanoseek.inference.engine import Completion, Engine, TokenDelta
from nanoseek.inference.sampling import SamplingError, SamplingParams

__all__ = ["AsyncEngine", "Completion", "Engine", "EngineError", "SamplingError", "SamplingParams", "TokenDelta"]
