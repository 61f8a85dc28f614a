"""The wire format: OpenAI/DeepSeek request bodies (validated) and response objects.

Requests are validated strictly at the edge: wrong JSON types, out-of-range numbers, unknown
fields and parameters this server does not implement (n > 1, tools, logprobs, images...) are
all a 400 whose `param` names the field, in OpenAI's error shape. Nothing reaches the engine
unchecked.

Extensions beyond OpenAI's fields, as vLLM spells them: `top_k`, `ignore_eos`.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

# ---- errors ---------------------------------------------------------------------------------


class APIError(Exception):
    """An error answered as {"error": {"message", "type", "param", "code"}} with `status`."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None, headers: dict | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type, param, code
        self.headers = headers or {}

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def unsupported(param: str, what: str = "") -> APIError:
    return APIError(400, f"'{param}' is not supported by this server{what}", param=param, code="unsupported_parameter")


def validation_error(e: ValidationError) -> APIError:
    """The first problem of a pydantic ValidationError, named the way OpenAI names fields."""
    errors = e.errors()
    # A union reports one error per branch; the deepest location is the most specific
    # (a content part of the wrong type rather than "content should be a string").
    err = max(errors, key=lambda er: len([p for p in er["loc"] if not _TYPE_TAG.match(str(p))]))
    param = _param_name(err["loc"])
    kind = err["type"]
    if kind == "json_invalid":
        return APIError(400, f"We could not parse the JSON body of your request: {err['msg']}", code="invalid_json")
    if kind == "model_type" and not param:
        return APIError(400, "The request body must be a JSON object", code="invalid_json")
    if kind == "missing":
        return APIError(400, f"Missing required parameter: '{param}'", param=param, code="missing_required_parameter")
    if kind == "extra_forbidden":
        return APIError(400, f"Unrecognized request argument supplied: {param}", param=param,
                        code="unknown_parameter")
    return APIError(400, f"Invalid value for '{param}': {err['msg']} (got {err.get('input')!r:.80})", param=param,
                    code="invalid_value" if "type" not in kind else "invalid_type")


def _param_name(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not _TYPE_TAG.match(str(part)):
            out += ("." if out else "") + str(part)
    return out


# pydantic names the branch of a union in error locations ("str", "list[int]", "TextPart"):
# types, not fields (our field names are lower case identifiers).
_TYPE_TAG = re.compile(r"^(str|int|float|bool|(list|dict|literal|function-\w+)\[.*\]|[A-Z]\w*)$")


# ---- requests -------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class TextPart(_Strict):
    type: Literal["text"]
    text: str


class Message(_Strict):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[TextPart] | None = None
    name: str | None = None
    reasoning_content: str | None = None  # DeepSeek's field; dropped by the template anyway
    tool_calls: Any = None
    tool_call_id: Any = None
    prefix: Any = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(p.text for p in self.content)
        return self.content or ""


class StreamOptions(_Strict):
    include_usage: bool = False
    include_obfuscation: Any = None  # newer OpenAI clients may send it: nothing to do here


class _Sampling(_Strict):
    model: str
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    top_k: int | None = Field(default=None, ge=0)  # extension (vLLM)
    seed: int | None = None
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    stop: str | list[str] | None = None
    ignore_eos: bool = False  # extension (vLLM): generate max_tokens whatever the model says
    n: int | None = Field(default=None, ge=1)
    logprobs: Any = None
    logit_bias: dict | None = None
    user: str | None = None

    def stops(self) -> list[str]:
        stops = [self.stop] if isinstance(self.stop, str) else list(self.stop or [])
        if len(stops) > 4:
            raise APIError(400, "'stop' may hold at most 4 sequences", param="stop", code="invalid_value")
        return stops

    @property
    def include_usage(self) -> bool:
        """A stream ends with an OpenAI usage chunk (stream_options.include_usage)."""
        return bool(self.stream_options and self.stream_options.include_usage)

    def check_common(self) -> None:
        if self.n not in (None, 1):
            raise unsupported("n", " (only n=1)")
        if self.logit_bias:
            raise unsupported("logit_bias")
        if self.logprobs not in (None, False, 0):
            raise unsupported("logprobs")
        if self.stream_options is not None and not self.stream:
            raise APIError(400, "'stream_options' is only allowed when 'stream' is true", param="stream_options",
                           code="invalid_value")
        self.stops()


class ChatRequest(_Sampling):
    messages: list[Message] = Field(min_length=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    top_logprobs: Any = None
    tools: Any = None
    tool_choice: Any = None
    functions: Any = None
    function_call: Any = None
    parallel_tool_calls: bool | None = None
    response_format: Any = None
    modalities: Any = None
    audio: Any = None
    prediction: Any = None
    web_search_options: Any = None
    reasoning_effort: str | None = None  # accepted; this model always thinks
    metadata: dict | None = None
    store: bool | None = None
    service_tier: str | None = None

    def check(self) -> None:
        self.check_common()
        for name in ("tools", "functions", "prediction", "audio", "web_search_options", "top_logprobs"):
            if getattr(self, name) not in (None, [], 0):
                raise unsupported(name)
        if self.tool_choice not in (None, "none", "auto"):
            raise unsupported("tool_choice")
        if self.function_call not in (None, "none", "auto"):
            raise unsupported("function_call")
        if self.response_format not in (None, {"type": "text"}):
            raise unsupported("response_format", " (only {\"type\": \"text\"})")
        if self.modalities not in (None, ["text"]):
            raise unsupported("modalities", " (only [\"text\"])")
        for i, m in enumerate(self.messages):
            if m.role in ("tool", "function"):
                raise APIError(400, f"Invalid value for 'messages[{i}].role': '{m.role}' is not supported "
                                    "(no tool use here)",
                               param=f"messages[{i}].role", code="unsupported_parameter")
            if m.tool_calls or m.tool_call_id or m.prefix:
                field = "tool_calls" if m.tool_calls else "tool_call_id" if m.tool_call_id else "prefix"
                raise unsupported(f"messages[{i}].{field}")
        if self.messages[-1].role != "user":
            param = f"messages[{len(self.messages) - 1}].role"
            raise APIError(400, f"Invalid value for '{param}': the last message must have role 'user', got "
                                f"'{self.messages[-1].role}'", param=param, code="invalid_value")

    def chat_messages(self) -> list[dict]:
        """Role/content dicts for the chat template ("developer" is OpenAI's new name for system)."""
        return [{"role": "system" if m.role == "developer" else m.role, "content": m.text()} for m in self.messages]

    @property
    def token_limit(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens


class CompletionRequest(_Sampling):
    prompt: str | list[str] | list[int] | list[list[int]]
    max_tokens: int | None = Field(default=16, ge=1)  # OpenAI's default for completions
    echo: bool | None = False
    suffix: str | None = None
    best_of: int | None = Field(default=None, ge=1)

    def check(self) -> None:
        self.check_common()
        if self.echo:
            raise unsupported("echo")
        if self.suffix:
            raise unsupported("suffix")
        if self.best_of not in (None, 1):
            raise unsupported("best_of", " (only best_of=1)")
        if isinstance(self.prompt, list) and len(self.prompt) != 1 and (not self.prompt or
                                                                         not isinstance(self.prompt[0], int)):
            raise unsupported("prompt", " as a batch (send one prompt per request)")

    @property
    def token_limit(self) -> int | None:
        return self.max_tokens


# ---- responses ------------------------------------------------------------------------------


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def now() -> int:
    return int(time.time())


def usage(prompt_tokens: int, completion_tokens: int, reasoning_tokens: int | None = None) -> dict:
    out = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
           "total_tokens": prompt_tokens + completion_tokens}
    if reasoning_tokens is not None:
        out["completion_tokens_details"] = {"reasoning_tokens": reasoning_tokens}
    return out


def envelope(rid: str, kind: str, created: int, model: str, part: dict, finish_reason: str | None = None,
             usage_: dict | None = None) -> dict:
    """An OpenAI completion object (whole or chunk) of `kind` around its one choice's `part`
    (`{"message": ...}`, `{"delta": ...}` or `{"text": ...}`)."""
    return {"id": rid, "object": kind, "created": created, "model": model, "system_fingerprint": None,
            "choices": [{"index": 0, **part, "logprobs": None, "finish_reason": finish_reason}],
            "usage": usage_}


def chat_chunk(rid: str, created: int, model: str, delta: dict, finish_reason: str | None = None,
               usage_: dict | None = None) -> dict:
    return envelope(rid, "chat.completion.chunk", created, model, {"delta": delta}, finish_reason, usage_)


def completion_chunk(rid: str, created: int, model: str, text: str, finish_reason: str | None = None,
                     usage_: dict | None = None) -> dict:
    return envelope(rid, "text_completion", created, model, {"text": text}, finish_reason, usage_)
