"""OpenAI/DeepSeek-compatible HTTP server (FastAPI) and the web chat, over one ChatModel.

    GET  /                      the web chat (static files in web/, libraries in web/vendor/)
    GET  /health                liveness, slots, queue, policy counters (no API key needed)
    GET  /v1/models             the served model, its context length and the policy in force
    POST /v1/chat/completions   messages -> reasoning_content + content (SSE when stream=true)
    POST /v1/completions        raw text prompt -> text (SSE when stream=true)

Request flow: here, Host/Origin guard -> API key -> parse and validate (400 with the field
named); then the serving layer (serving.py): model name (404) -> character limit, tokenizing
off the event loop, context budget -> operator policy (may answer instead of the model) ->
admission (429 + Retry-After beyond capacity) -> the engine's continuous batching, shared by
every client -> ReplyDecoder (text, stop strings, <think> split) -> JSON or SSE. Leaving early (client disconnect, stop string) closes the token stream,
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
import logging
from collections import Counter, defaultdict
from pathlib import Path
from typing import AsyncIterator, Sequence
from urllib.parse import urlsplit

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from nanoseek.serve.backend import Admission, ChatModel
from nanoseek.serve.policy import Policy
from nanoseek.serve.protocol import APIError, ChatRequest, CompletionRequest, validation_error
from nanoseek.serve.serving import SSE, ServingChat, ServingCompletion

log = logging.getLogger("nanoseek.serve")
WEB = Path(__file__).parent / "web"
MAX_BODY = 1 << 20  # bytes; the whole context is a few thousand tokens
# The page runs only its own files: no inline script, nothing fetched from elsewhere. A second
# guard behind the sanitiser, since the page shows model text. KaTeX lays math out with style
# attributes, the one inline thing allowed (CSS cannot run script; img-src stops url() fetches).
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
       "font-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; "
       "frame-ancestors 'none'")
PAGE_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


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
    chat, completion = (cls(model, policy, app.state.policy_counts) for cls in (ServingChat, ServingCompletion))
    _install_error_handlers(app)
    _install_origin_guard(app, hosts, tuple(origins))

    def authorize(request: Request) -> None:
        if not api_key:
            return
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), api_key.encode()):
            raise APIError(401, "Incorrect API key provided. Send it as 'Authorization: Bearer KEY'.",
                           code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"})

    # ---- pages and metadata ----------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(WEB / "index.html", media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)

    for asset in ("app.js", "render.js", "style.css"):
        media = "text/css" if asset.endswith(".css") else "text/javascript"
        app.add_api_route(f"/{asset}", _static(WEB / asset, f"{media}; charset=utf-8"), include_in_schema=False)
    # check_dir=False: without `make web` these are 404s and the page shows plain text
    app.mount("/vendor", StaticFiles(directory=WEB / "vendor", check_dir=False), name="vendor")

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
        chat.check_model(name)
        return _model_card(model, policy)

    # ---- completions: the serving layer does the work ------------------------------------------

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        authorize(request)
        req = await _parse(request, ChatRequest)
        return _respond(await chat.create(req, lambda: _disconnected(request)))

    @app.post("/v1/completions")
    async def completions(request: Request) -> Response:
        authorize(request)
        req = await _parse(request, CompletionRequest)
        return _respond(await completion.create(req, lambda: _disconnected(request)))

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


async def _disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


def _respond(result: dict | SSE) -> Response:
    return EventStream(result.chunks, result.admission) if isinstance(result, SSE) else JSONResponse(result)


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
          allow_origins: Sequence[str] = (), quantize: str | None = None) -> None:
    """Load a checkpoint and serve it until interrupted (what `nanoseek serve` runs)."""
    import uvicorn

    policy = Policy.load(policy_file) if policy_file else Policy()
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s:     %(name)s: %(message)s")
    model = ChatModel.load(model_dir, name=name, max_slots=max_slots, max_waiting=max_waiting,
                           speculative=speculative, compile=compile, quantize=quantize)
    app = create_app(model, policy=policy, api_key=api_key, hosts=loopback_names(host), origins=allow_origins)
    shown = "localhost" if host in ("0.0.0.0", "::") else host
    print(f"nanoseek: serving '{model.name}' ({model.max_len}-token context, {max_slots} slots) "
          f"at http://{shown}:{port}/  (API: http://{shown}:{port}/v1, policy: "
          f"{policy.source or 'none'}{', API key required' if api_key else ''})", flush=True)
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=2)
    finally:
        model.close()
