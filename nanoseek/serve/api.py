"""OpenAI/DeepSeek-compatible HTTP server (FastAPI) and the web chat, over one ChatModel.

    GET  /                      the web chat (static files in web/)
    GET  /health                liveness, slots, queue, policy counters (no API key needed)
    GET  /v1/models             the served model, its context length and the policy in force
    POST /v1/chat/completions   messages -> reasoning_content + content (SSE when stream=true)
    POST /v1/completions        raw text prompt -> text (SSE when stream=true)

Request flow: parse and validate (400/404 with the field named) -> operator policy (may
answer instead of the model) -> admission (429 + Retry-After beyond capacity) -> the engine's
continuous batching, shared by every client -> ReplyDecoder (text, stop strings, <think>
split) -> JSON or SSE. Leaving early (client disconnect, stop string) closes the token stream,
which cancels the request in the engine and frees its slot at once.

Streaming follows DeepSeek: a first chunk with the role, then `delta.reasoning_content`
chunks, then `delta.content` chunks, then a final chunk with `finish_reason` and `usage`,
then `data: [DONE]`. With `stream_options.include_usage` it follows OpenAI instead: the final
chunk has `usage: null` and one more chunk with `choices: []` carries the usage.

If the engine fails while generating (a bug, out of memory), the request ends with a 500
`server_error` (code `engine_error`): as the JSON reply, or, once streaming has begun, as a
`data: {"error": ...}` event (as OpenAI does mid-stream; its SDK raises it) with no [DONE].
The engine recovers for new requests; if it stops for good, /health and new requests get 503.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections import Counter, defaultdict
from contextlib import aclosing
from pathlib import Path
from typing import AsyncIterator, Sequence
from urllib.parse import urlsplit

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from nanoseek.inference import EngineError, SamplingError, SamplingParams, Split
from nanoseek.serve.backend import Admission, ChatModel, QueueFull
from nanoseek.serve.policy import Policy, Reply
from nanoseek.serve.protocol import (APIError, ChatRequest, CompletionRequest, chat_chunk, completion_chunk,
                                     envelope, new_id, now, usage, validation_error)

log = logging.getLogger("nanoseek.serve")
WEB = Path(__file__).parent / "web"
MAX_BODY = 1 << 20  # bytes; the whole context is a few thousand tokens
RETRY_AFTER_S = 1

# (text delta, finish_reason or None, usage dict on the last event)
Event = tuple[Split, str | None, dict | None]


def create_app(model: ChatModel, *, policy: Policy | None = None, api_key: str | None = None,
               hosts: Sequence[str] | None = None, origins: Sequence[str] = ()) -> FastAPI:
    """The server as an ASGI app; run it with uvicorn (see `serve`) or any ASGI server.

    hosts: the host names requests may be addressed to (the Host header, port aside); None
    takes any. origins: web pages on other origins allowed to call the API (CORS); a request
    from any other page (its browser sends Origin) gets 403 before it reaches the model."""
    policy = policy or Policy()
    app = FastAPI(title="nanoseek", version="0.1.0", docs_url="/docs", redoc_url=None)
    app.state.model, app.state.policy = model, policy
    app.state.policy_counts = defaultdict(Counter)  # kind -> rule -> times the policy answered
    _install_error_handlers(app)
    _install_origin_guard(app, hosts, tuple(origins))

    def authorize(request: Request) -> None:
        if not api_key:
            return
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), api_key.encode()):
            raise APIError(401, "Incorrect API key provided. Send it as 'Authorization: Bearer KEY'.",
                           code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"})

    def check_model(name: str) -> None:
        if name != model.name:
            raise APIError(404, f"The model '{name}' does not exist; this server serves '{model.name}'",
                           param="model", code="model_not_found")

    # ---- pages and metadata ----------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(WEB / "index.html", media_type="text/html; charset=utf-8")

    for asset, media in [("app.js", "text/javascript; charset=utf-8"), ("style.css", "text/css; charset=utf-8")]:
        app.add_api_route(f"/{asset}", _static(WEB / asset, media), include_in_schema=False)

    @app.get("/health")
    async def health() -> JSONResponse:
        ok = model.alive
        counts = app.state.policy_counts
        body = {"status": "ok" if ok else "engine stopped", "model": model.name, **model.stats(),
                "policy": {"refusals": dict(counts["refusal"]), "identity_answers": dict(counts["identity"])}}
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/v1/models")
    async def list_models(request: Request) -> dict:
        authorize(request)
        return {"object": "list", "data": [_model_card(model, policy)]}

    @app.get("/v1/models/{name:path}")
    async def get_model(name: str, request: Request) -> dict:
        authorize(request)
        check_model(name)
        return _model_card(model, policy)

    # ---- completions ---------------------------------------------------------------------------

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        authorize(request)
        req = await _parse(request, ChatRequest)
        check_model(req.model)
        messages = req.chat_messages()
        # tokenizing a long prompt takes a while: off the event loop, which every stream shares
        prompt = await anyio.to_thread.run_sync(model.chat_prompt, policy.apply(messages))
        max_tokens = _budget(model, len(prompt), req.token_limit, "messages")
        reply = policy.decide(messages)
        events, admission = _events(app, model, reply, prompt, req, max_tokens, think=True)
        rid, created = new_id("chatcmpl"), now()
        if req.stream:
            include_usage = bool(req.stream_options and req.stream_options.include_usage)
            return EventStream(_chat_sse(events, rid, created, model.name, include_usage), admission)
        reasoning, content, finish, use = await _collect(request, events, admission)
        message = {"role": "assistant", "content": content, "reasoning_content": reasoning}
        return JSONResponse(envelope(rid, "chat.completion", created, model.name, {"message": message}, finish, use))

    @app.post("/v1/completions")
    async def completions(request: Request) -> Response:
        authorize(request)
        req = await _parse(request, CompletionRequest)
        check_model(req.model)
        prompt, text = await anyio.to_thread.run_sync(_completion_prompt, model, req)
        max_tokens = _budget(model, len(prompt), req.token_limit, "prompt")
        refusal = policy.check_refusal(text)
        events, admission = _events(app, model, refusal, prompt, req, max_tokens, think=False)
        rid, created = new_id("cmpl"), now()
        if req.stream:
            include_usage = bool(req.stream_options and req.stream_options.include_usage)
            return EventStream(_completion_sse(events, rid, created, model.name, include_usage), admission)
        _, content, finish, use = await _collect(request, events, admission)
        return JSONResponse(envelope(rid, "text_completion", created, model.name, {"text": content}, finish, use))

    return app


# ---- request handling -------------------------------------------------------------------------


async def _parse(request: Request, schema):
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":  # a browser sends text/plain cross-site without asking first
        raise APIError(415, f"Content-Type must be application/json, got {media_type or 'none'!r}",
                       code="unsupported_media_type")
    body = await _read_body(request)
    try:
        req = schema.model_validate_json(body)
    except ValidationError as e:
        raise validation_error(e) from None
    req.check()
    return req


async def _read_body(request: Request) -> bytes:
    """The body, refused with 413 as soon as it passes MAX_BODY (not after reading it all)."""
    too_large = APIError(413, f"request body is over the limit of {MAX_BODY} bytes", code="request_too_large")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise too_large
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY:
                raise too_large
            chunks.append(chunk)
    except ClientDisconnect:  # nobody to answer: one line in the log, not a server error
        log.info("%s %s: the client left while sending its request", request.method, request.url.path)
        raise APIError(499, "the client closed the request", code="client_closed_request") from None
    return b"".join(chunks)


def _budget(model: ChatModel, prompt_tokens: int, asked: int | None, prompt_param: str) -> int:
    """max_tokens for the engine: what was asked, or all the room left; 400 if it cannot fit."""
    room = model.max_len - prompt_tokens
    if room < 1:
        raise APIError(400, f"This model's maximum context length is {model.max_len} tokens; your {prompt_param} "
                            f"use {prompt_tokens}, leaving no room for a reply", param=prompt_param,
                       code="context_length_exceeded")
    if asked is not None and asked > room:
        raise APIError(400, f"This model's maximum context length is {model.max_len} tokens. However, you "
                            f"requested {prompt_tokens + asked} tokens ({prompt_tokens} in the {prompt_param}, "
                            f"{asked} in the completion). Please reduce max_tokens or the {prompt_param}.",
                       param="max_tokens", code="context_length_exceeded")
    return asked or room


def _sampling(model: ChatModel, req, max_tokens: int) -> SamplingParams:
    params = model.sampling(max_tokens=max_tokens, temperature=req.temperature, top_p=req.top_p,
                            top_k=req.top_k or 0, seed=req.seed, presence_penalty=req.presence_penalty or 0.0,
                            frequency_penalty=req.frequency_penalty or 0.0, ignore_eos=req.ignore_eos)
    try:
        params.validate(model.engine.engine.config.vocab_size)
    except SamplingError as e:  # the schema checks what it can; bounds that need the model end here
        param = "max_tokens" if e.field == "max_new_tokens" else e.field
        raise APIError(400, str(e), param=param, code="invalid_value") from None
    return params


def _completion_prompt(model: ChatModel, req: CompletionRequest) -> tuple[list[int], str]:
    """Prompt ids (text gets bos, as every training document starts with it) and its text."""
    tok = model.tokenizer
    prompt = req.prompt[0] if isinstance(req.prompt, list) and isinstance(req.prompt[0], (str, list)) else req.prompt
    if isinstance(prompt, str):
        if not prompt:
            raise APIError(400, "'prompt' must not be empty", param="prompt", code="invalid_value")
        ids = tok.encode(prompt)
        return (ids if ids[:1] == [tok.bos_id] else [tok.bos_id, *ids]), prompt
    vocab = model.engine.engine.config.vocab_size
    if not prompt or not all(0 <= t < vocab for t in prompt):
        raise APIError(400, f"'prompt' token ids must be a non-empty list of integers in [0, {vocab})",
                       param="prompt", code="invalid_value")
    return list(prompt), tok.decode(prompt)


def _events(app: FastAPI, model: ChatModel, canned: Reply | None, prompt: list[int], req, max_tokens: int,
            think: bool) -> tuple[AsyncIterator[Event], Admission | None]:
    """The reply's events: the policy's canned answer when it decided one (no engine slot), else
    a generation admitted to the engine (sampling checked before a slot is taken)."""
    if canned is not None:
        _count(app, canned)
        return _canned(model, canned, len(prompt)), None
    decoder = model.decoder(prompt, think=think, stop=req.stops())
    params = _sampling(model, req, max_tokens)
    return _generate(model, prompt, params, decoder), _admit(model)


def _count(app: FastAPI, reply: Reply) -> None:
    counts = app.state.policy_counts[reply.kind]
    counts[reply.rule] += 1
    n = counts[reply.rule]
    if reply.kind == "refusal":
        log.warning("policy refusal: rule %r matched (%d so far)", reply.rule, n)
    else:
        log.info("policy answered an identity question: %s (%d so far)", reply.rule, n)


# ---- generation -------------------------------------------------------------------------------


def _admit(model: ChatModel) -> Admission:
    if not model.alive:
        raise APIError(503, "The inference engine has stopped; see the server's log", type="server_error",
                       code="engine_stopped")
    try:
        return model.admit()
    except QueueFull as e:
        raise APIError(429, f"The server is at capacity ({e}); retry shortly", type="rate_limit_exceeded",
                       code="rate_limit_exceeded", headers={"Retry-After": str(RETRY_AFTER_S)}) from None


async def _generate(model: ChatModel, prompt: list[int], params: SamplingParams, decoder) -> AsyncIterator[Event]:
    """Text events of one request, from the engine's token stream (APIError 500 if the engine fails)."""
    try:
        async with aclosing(model.stream(prompt, params)) as deltas:
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


async def _canned(model: ChatModel, reply: Reply, prompt_tokens: int) -> AsyncIterator[Event]:
    """A policy's answer, shaped like a model's reply."""
    yield Split(content=reply.text), "stop", usage(prompt_tokens, len(model.tokenizer.encode(reply.text)), 0)


async def _collect(request: Request, events: AsyncIterator[Event],
                   admission: Admission | None) -> tuple[str, str, str, dict]:
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
                await _disconnected(request)
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


async def _disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


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


class EventStream(StreamingResponse):
    """An SSE response that notices a client leaving at once and always closes its generator.

    Starlette's own StreamingResponse, depending on the server's ASGI version, may only notice
    a disconnect at the next write and then leaves the body generator to the garbage collector;
    here the generator is closed right away, which cancels the engine request."""

    def __init__(self, events: AsyncIterator[str], admission: Admission | None = None) -> None:
        super().__init__(events, media_type="text/event-stream",
                         headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        self._events, self._admission = events, admission

    async def __call__(self, scope, receive, send) -> None:
        try:
            async with anyio.create_task_group() as tg:
                async def watch() -> None:
                    while (await receive())["type"] != "http.disconnect":
                        pass
                    tg.cancel_scope.cancel()

                tg.start_soon(watch)
                try:
                    await self.stream_response(send)
                except OSError:  # the client is gone
                    pass
                tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await self._events.aclose()  # cancels the engine request if it is still running
            if self._admission is not None:
                self._admission.release()


def _static(path: Path, media_type: str):
    async def handler() -> FileResponse:
        return FileResponse(path, media_type=media_type)

    return handler


def _model_card(model: ChatModel, policy: Policy) -> dict:
    return {"id": model.name, "object": "model", "created": model.created, "owned_by": "nanoseek",
            "context_length": model.max_len, "policy": policy.public()}


# ---- who may call --------------------------------------------------------------------------------


def _install_origin_guard(app: FastAPI, hosts: Sequence[str] | None, origins: tuple[str, ...]) -> None:
    """Refuse requests that a web page on another site makes a browser send. Such a page can
    POST to a local server (no preflight for simple requests) or, by rebinding its own DNS
    name to 127.0.0.1, read the replies too; the browser then sends that page's Origin, or its
    own host name as Host. Clients that are not browsers send no Origin and are not affected."""
    if origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(origins), allow_methods=["GET", "POST"],
                           allow_headers=["authorization", "content-type"])

    @app.middleware("http")
    async def guard(request: Request, call_next):
        host = request.headers.get("host", "")
        if hosts is not None and _host_name(host).lower() not in hosts:
            return _error_reply(APIError(403, f"Host {host!r} is not served here; serve it with --host",
                                         code="host_not_allowed"))
        origin = request.headers.get("origin")
        if origin is not None and origin not in origins and urlsplit(origin).netloc != host.lower():
            return _error_reply(APIError(403, f"Requests from web pages at {origin} are refused; allow that "
                                              "origin with --allow-origin", code="origin_not_allowed"))
        return await call_next(request)


def _host_name(host: str) -> str:
    """The Host header without its port: `localhost:8000` -> `localhost`, `[::1]:80` -> `[::1]`."""
    return host.rpartition(":")[0] if host.rpartition(":")[2].isdigit() and not host.endswith("]") else host


# ---- errors -------------------------------------------------------------------------------------


def _error_reply(e: APIError) -> JSONResponse:
    return JSONResponse(e.body(), status_code=e.status, headers=e.headers)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(APIError)
    async def api_error(request: Request, e: APIError) -> JSONResponse:
        return _error_reply(e)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, e: RequestValidationError) -> JSONResponse:
        return _error_reply(APIError(400, str(e)))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, e: StarletteHTTPException) -> JSONResponse:
        kind = {404: "not_found", 405: "method_not_allowed"}.get(e.status_code, "invalid_request_error")
        message = f"{request.method} {request.url.path}: {e.detail}"
        return _error_reply(APIError(e.status_code, message, type=kind, code=kind, headers=dict(e.headers or {})))

    @app.exception_handler(Exception)
    async def crash(request: Request, e: Exception) -> JSONResponse:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return _error_reply(APIError(500, "The server had an error while processing your request.", type="server_error"))


# ---- running ------------------------------------------------------------------------------------


def loopback_names(host: str) -> tuple[str, ...] | None:
    """The Host names a server listening on `host` answers to: the loopback names when it
    listens on loopback only (no other site's name can reach it, except by DNS rebinding);
    None (any name) when it listens on a network interface and so has names we cannot know."""
    names = ("localhost", "127.0.0.1", "[::1]")
    if host in ("localhost", "::1") or host.startswith("127."):
        return names + ((host,) if host.startswith("127.") else ())
    return None


def serve(model_dir: str | Path, *, host: str = "127.0.0.1", port: int = 8000, api_key: str | None = None,
          policy_file: str | Path | None = None, name: str | None = None, max_slots: int = 32,
          max_waiting: int = 96, speculative: bool = False, compile: bool = True, log_level: str = "info",
          allow_origins: Sequence[str] = ()) -> None:
    """Load a checkpoint and serve it until interrupted (what `nanoseek serve` runs)."""
    import uvicorn

    policy = Policy.load(policy_file) if policy_file else Policy()
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s:     %(name)s: %(message)s")
    model = ChatModel.load(model_dir, name=name, max_slots=max_slots, max_waiting=max_waiting,
                           speculative=speculative, compile=compile)
    app = create_app(model, policy=policy, api_key=api_key, hosts=loopback_names(host), origins=allow_origins)
    shown = "localhost" if host in ("0.0.0.0", "::") else host
    print(f"nanoseek: serving '{model.name}' ({model.max_len}-token context, {max_slots} slots) "
          f"at http://{shown}:{port}/  (API: http://{shown}:{port}/v1, policy: "
          f"{policy.source or 'none'}{', API key required' if api_key else ''})", flush=True)
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=2)
    finally:
        model.close()
