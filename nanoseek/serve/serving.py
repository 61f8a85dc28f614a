"""The serving layer under the HTTP routes: an OpenAI request in, the API's reply out.

    ServingChat        /v1/chat/completions: messages -> policy -> prompt -> reasoning + content
    ServingCompletion  /v1/completions: text or token ids -> text

Each `create(request, disconnected)` checks the model name and the context budget, tokenizes
off the event loop (after a character limit, so no prompt is too long to be worth encoding),
lets the operator policy answer or admits the request to the engine (429 beyond capacity),
and returns either the JSON body of the whole reply or an `SSE` stream of it. The routes in
api.py only authorise, parse and hand the result to the web framework, as vLLM's routes sit
over its serving_chat and serving_completion.
"""

from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from contextlib import aclosing
from dataclasses import dataclass
from typing import AsyncIterator, Awaitable, Callable

import anyio

from nanoseek.inference import EngineError, SamplingError, SamplingParams
from nanoseek.serve.backend import Admission, ChatModel, QueueFull
from nanoseek.serve.policy import Policy, Reply
from nanoseek.serve.protocol import (APIError, ChatRequest, CompletionRequest, chat_chunk, completion_chunk,
                                     envelope, new_id, now, usage)
from nanoseek.serve.text import Split
from nanoseek.tokenizer import ChatTemplateError

log = logging.getLogger("nanoseek.serve")
RETRY_AFTER_S = 1

# (text delta, finish_reason or None, usage dict on the last event)
Event = tuple[Split, str | None, dict | None]


@dataclass
class SSE:
    """A streamed reply: its server-sent events, and the engine place to release when it ends."""

    chunks: AsyncIterator[str]
    admission: Admission | None


class Serving:
    """What both endpoints share: model check, context budget, sampling, policy, admission."""

    def __init__(self, model: ChatModel, policy: Policy, policy_counts: defaultdict[str, Counter]) -> None:
        self.model, self.policy, self.policy_counts = model, policy, policy_counts

    def check_model(self, name: str) -> None:
        if name != self.model.name:
            raise APIError(404, f"The model '{name}' does not exist; this server serves '{self.model.name}'",
                           param="model", code="model_not_found")

    def check_length(self, chars: int, prompt_param: str) -> None:
        """Refuse a prompt too long to fit the context before spending time to tokenize it."""
        if chars > self.model.max_prompt_chars:
            raise APIError(400, f"This model's maximum context length is {self.model.max_len} tokens; your "
                                f"{prompt_param} has {chars} characters, more than that many tokens can hold "
                                f"({self.model.max_prompt_chars})", param=prompt_param,
                           code="context_length_exceeded")

    def budget(self, prompt_tokens: int, asked: int | None, prompt_param: str) -> int:
        """max_tokens for the engine: what was asked, or all the room left; 400 if it cannot fit."""
        max_len = self.model.max_len
        room = max_len - prompt_tokens
        if room < 1:
            raise APIError(400, f"This model's maximum context length is {max_len} tokens; your {prompt_param} "
                                f"use {prompt_tokens}, leaving no room for a reply", param=prompt_param,
                           code="context_length_exceeded")
        if asked is not None and asked > room:
            raise APIError(400, f"This model's maximum context length is {max_len} tokens. However, you "
                                f"requested {prompt_tokens + asked} tokens ({prompt_tokens} in the {prompt_param}, "
                                f"{asked} in the completion). Please reduce max_tokens or the {prompt_param}.",
                           param="max_tokens", code="context_length_exceeded")
        return asked or room

    def sampling(self, req, max_tokens: int) -> SamplingParams:
        params = self.model.sampling(
            max_tokens=max_tokens, temperature=req.temperature, top_p=req.top_p, top_k=req.top_k or 0,
            seed=req.seed, presence_penalty=req.presence_penalty or 0.0,
            frequency_penalty=req.frequency_penalty or 0.0, ignore_eos=req.ignore_eos)
        try:
            params.validate(self.model.vocab_size)
        except SamplingError as e:  # the schema checks what it can; bounds that need the model end here
            param = "max_tokens" if e.field == "max_new_tokens" else e.field
            raise APIError(400, str(e), param=param, code="invalid_value") from None
        return params

    def events(self, canned: Reply | None, prompt: list[int], req, max_tokens: int,
               think: bool) -> tuple[AsyncIterator[Event], Admission | None]:
        """The reply's events: the policy's canned answer when it decided one (no engine slot),
        else a generation admitted to the engine (sampling checked before a slot is taken)."""
        if canned is not None:
            self._count(canned)
            return self._canned(canned, len(prompt)), None
        decoder = self.model.decoder(prompt, think=think, stop=req.stops())
        params = self.sampling(req, max_tokens)
        return self._generate(prompt, params, decoder), self._admit()

    def _count(self, reply: Reply) -> None:
        counts = self.policy_counts[reply.kind]
        counts[reply.rule] += 1
        n = counts[reply.rule]
        if reply.kind == "refusal":
            log.warning("policy refusal: rule %r matched (%d so far)", reply.rule, n)
        else:
            log.info("policy answered an identity question: %s (%d so far)", reply.rule, n)

    def _admit(self) -> Admission:
        if not self.model.alive:
            raise APIError(503, "The inference engine has stopped; see the server's log", type="server_error",
                           code="engine_stopped")
        try:
            return self.model.admit()
        except QueueFull as e:
            raise APIError(429, f"The server is at capacity ({e}); retry shortly", type="rate_limit_exceeded",
                           code="rate_limit_exceeded", headers={"Retry-After": str(RETRY_AFTER_S)}) from None

    async def _generate(self, prompt: list[int], params: SamplingParams, decoder) -> AsyncIterator[Event]:
        """Text events of one request, from the engine's token stream (APIError 500 if the engine fails)."""
        try:
            async with aclosing(self.model.stream(prompt, params)) as deltas:
                async for d in deltas:
                    text = decoder.push(d.token_ids)
                    finish = "stop" if decoder.stopped else d.finish_reason
                    if finish is None:
                        yield text, None, None
                        continue
                    text += decoder.flush()
                    use = usage(len(prompt), decoder.tokens, decoder.reasoning_tokens if decoder.splitter else None)
                    yield text, "stop" if finish == "cancelled" else finish, use
                    return  # closing `deltas` cancels a request ended by a stop string
        except EngineError as e:
            log.error("request failed in the engine: %s", e)
            raise APIError(500, "The inference engine failed while generating this reply; see the server's log",
                           type="server_error", code="engine_error") from None

    async def _canned(self, reply: Reply, prompt_tokens: int) -> AsyncIterator[Event]:
        """A policy's answer, shaped like a model's reply."""
        yield Split(content=reply.text), "stop", usage(prompt_tokens, len(self.model.tokenizer.encode(reply.text)), 0)


class ServingChat(Serving):
    async def create(self, req: ChatRequest, disconnected: Callable[[], Awaitable[None]]) -> dict | SSE:
        self.check_model(req.model)
        messages = req.chat_messages()
        self.check_length(sum(len(m.get("content") or "") for m in messages), "messages")
        # tokenizing a long prompt takes a while: off the event loop, which every stream shares
        try:
            prompt = await anyio.to_thread.run_sync(self.model.chat_prompt, self.policy.apply(messages))
        except ChatTemplateError as e:
            raise APIError(400, str(e), param="messages", code="invalid_value") from None
        max_tokens = self.budget(len(prompt), req.token_limit, "messages")
        events, admission = self.events(self.policy.decide(messages), prompt, req, max_tokens, think=True)
        rid, created, name = new_id("chatcmpl"), now(), self.model.name
        if req.stream:
            return SSE(_chat_sse(events, rid, created, name, req.include_usage), admission)
        reasoning, content, finish, use = await _collect(events, admission, disconnected)
        message = {"role": "assistant", "content": content, "reasoning_content": reasoning}
        return envelope(rid, "chat.completion", created, name, {"message": message}, finish, use)


class ServingCompletion(Serving):
    async def create(self, req: CompletionRequest, disconnected: Callable[[], Awaitable[None]]) -> dict | SSE:
        self.check_model(req.model)
        prompt, text = await anyio.to_thread.run_sync(self._prompt, req)
        max_tokens = self.budget(len(prompt), req.token_limit, "prompt")
        events, admission = self.events(self.policy.check_refusal(text), prompt, req, max_tokens, think=False)
        rid, created, name = new_id("cmpl"), now(), self.model.name
        if req.stream:
            return SSE(_completion_sse(events, rid, created, name, req.include_usage), admission)
        _, content, finish, use = await _collect(events, admission, disconnected)
        return envelope(rid, "text_completion", created, name, {"text": content}, finish, use)

    def _prompt(self, req: CompletionRequest) -> tuple[list[int], str]:
        """Prompt ids (text gets bos, as every training document starts with it) and its text."""
        tok = self.model.tokenizer
        prompt = req.prompt
        if isinstance(prompt, list) and isinstance(prompt[0], (str, list)):
            prompt = prompt[0]
        if isinstance(prompt, str):
            if not prompt:
                raise APIError(400, "'prompt' must not be empty", param="prompt", code="invalid_value")
            self.check_length(len(prompt), "prompt")
            ids = tok.encode(prompt)
            return (ids if ids[:1] == [tok.bos_id] else [tok.bos_id, *ids]), prompt
        vocab = self.model.vocab_size
        if not prompt or not all(0 <= t < vocab for t in prompt):
            raise APIError(400, f"'prompt' token ids must be a non-empty list of integers in [0, {vocab})",
                           param="prompt", code="invalid_value")
        return list(prompt), tok.decode(prompt)


async def _collect(events: AsyncIterator[Event], admission: Admission | None,
                   disconnected: Callable[[], Awaitable[None]]) -> tuple[str, str, str, dict]:
    """Run a non-streaming request to the end; a client that hangs up cancels it."""
    reasoning, content, finish, use = [], [], "stop", {}
    failed: APIError | None = None  # raised after the task group, which would wrap it in a group

    async def drain() -> None:
        nonlocal finish, use, failed
        try:
            async for text, fin, u in events:
                reasoning.append(text.reasoning)
                content.append(text.content)
                finish, use = fin or finish, u or use
        except APIError as e:
            failed = e

    try:
        async with anyio.create_task_group() as tg:
            async def watch() -> None:
                await disconnected()
                tg.cancel_scope.cancel()  # stops drain(); closing `events` cancels the engine request

            tg.start_soon(watch)
            await drain()
            tg.cancel_scope.cancel()
    finally:
        with anyio.CancelScope(shield=True):
            await events.aclose()
        if admission is not None:
            admission.release()
    if failed is not None:
        raise failed
    return "".join(reasoning), "".join(content), finish, use


# ---- server-sent events -------------------------------------------------------------------------


def _sse(obj) -> str:
    return f"data: {json.dumps(obj, ensure_ascii=False)}\n\n"


async def _chat_sse(events, rid: str, created: int, name: str, include_usage: bool) -> AsyncIterator[str]:
    yield _sse(chat_chunk(rid, created, name, {"role": "assistant", "content": None, "reasoning_content": ""}))
    try:
        async with aclosing(events):  # closed with this generator, however it ends
            async for text, finish, use in events:
                if text.reasoning:
                    yield _sse(chat_chunk(rid, created, name, {"content": None, "reasoning_content": text.reasoning}))
                if text.content:
                    yield _sse(chat_chunk(rid, created, name, {"content": text.content, "reasoning_content": None}))
                if finish:
                    final = {"content": "", "reasoning_content": None}
                    yield _sse(chat_chunk(rid, created, name, final, finish, None if include_usage else use))
                    if include_usage:
                        yield _sse({**chat_chunk(rid, created, name, {}), "choices": [], "usage": use})
    except APIError as e:  # the engine failed mid-stream: the headers are sent, so say it in the stream
        yield _sse(e.body())
        return
    yield "data: [DONE]\n\n"


async def _completion_sse(events, rid: str, created: int, name: str, include_usage: bool) -> AsyncIterator[str]:
    try:
        async with aclosing(events):
            async for text, finish, use in events:
                if text.content or finish:
                    yield _sse(completion_chunk(rid, created, name, text.content, finish,
                                                None if include_usage or not finish else use))
                if finish and include_usage:
                    yield _sse({**completion_chunk(rid, created, name, ""), "choices": [], "usage": use})
    except APIError as e:  # as in _chat_sse
        yield _sse(e.body())
        return
    yield "data: [DONE]\n\n"
