"""Serving a checkpoint to people: the OpenAI/DeepSeek-compatible API, the web chat, the
terminal chat, and the operator policy that all of them apply.

    from nanoseek.serve import ChatModel, Policy, create_app
    app = create_app(ChatModel.load("runs/speedrun/final"), policy=Policy.load("policy.toml"))
"""

from nanoseek.serve.backend import ChatModel, QueueFull, ReplyDecoder
from nanoseek.serve.policy import Policy, PolicyError

__all__ = ["ChatModel", "Policy", "PolicyError", "QueueFull", "ReplyDecoder", "create_app", "serve"]


def __getattr__(name):  # FastAPI and uvicorn load only when the server is wanted
    if name in ("create_app", "serve"):
        from nanoseek.serve import api

        return getattr(api, name)
    raise AttributeError(name)
