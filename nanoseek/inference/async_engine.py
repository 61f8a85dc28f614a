"""AsyncEngine: an Engine stepped by a background thread, for a server with many clients.

Thread-safe submit / cancel and an asyncio stream(); the Engine itself is only ever touched by
the stepping thread. A step that raises (the model's forward, out of memory) leaves no
in-flight request trustworthy, so every one of them finishes with reason "error" (stream() and
generate() raise EngineError for them), every slot is freed and the loop carries on with new
requests. After MAX_FAILED_STEPS such failures in a row it stops for good: `alive` turns
False and submit() raises.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import queue
import threading
from typing import AsyncIterator, Callable

from nanoseek.inference.engine import Completion, Engine, FinishReason, TokenDelta
from nanoseek.inference.sampling import SamplingParams

log = logging.getLogger("nanoseek.engine")
MAX_FAILED_STEPS = 3  # consecutive failed steps before the loop stops for good


class EngineError(RuntimeError):
    """The engine failed while running a request (raised by AsyncEngine's stream/generate/submit)."""


class AsyncEngine:
    """An Engine stepped by a background thread; submit/cancel from any thread, stream() from asyncio.

    Calls from other threads go through an inbox the stepping thread drains between steps, so
    the Engine itself is only ever touched by one thread. A step that raises fails the requests
    in flight (finish_reason "error"; stream() and generate() raise EngineError) and the loop
    goes on; `alive` is False once it has stopped (close(), or MAX_FAILED_STEPS in a row)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._wake = threading.Event()
        self._stop = False
        self._ids = itertools.count()
        self._id_lock = threading.Lock()
        self._state_lock = threading.Lock()  # orders submit() against the loop stopping
        self._stopped = False
        self.last_error: BaseException | None = None  # the latest step failure, for logs and health
        self._thread = threading.Thread(target=self._loop, name="nanoseek-engine", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        """True while the loop takes requests; False after close() or once it gave up on failures."""
        return not self._stopped and self._thread.is_alive()

    @property
    def free_slots(self) -> int:
        """Slots not decoding a request: a snapshot read from any thread, for health reports."""
        return self.engine.free_slots

    def submit(self, prompt_ids: list[int], params: SamplingParams | None = None,
               on_token: Callable[[TokenDelta], None] | None = None, request_id: int | None = None) -> int:
        """Queue a request (thread-safe); `on_token` is called on the engine thread. Returns its id.
        Raises ValueError for a request the engine cannot run, EngineError once it has stopped."""
        params = params or SamplingParams()
        self.engine.validate(prompt_ids, params)  # errors surface in the caller's thread
        rid = self._new_id() if request_id is None else request_id
        with self._state_lock:  # a request queued here is either run or failed by _shut_down()
            if self._stopped:
                raise EngineError(f"the inference engine has stopped (last error: {self.last_error!r})")
            self._inbox.put(("add", rid, list(prompt_ids), params, on_token))
        self._wake.set()
        return rid

    def _new_id(self) -> int:
        with self._id_lock:
            return next(self._ids)

    def cancel(self, request_id: int) -> None:
        """Cancel a request (thread-safe); it finishes with reason "cancelled" and frees its slot."""
        self._inbox.put(("cancel", request_id))
        self._wake.set()

    async def stream(self, prompt_ids: list[int], params: SamplingParams | None = None) -> AsyncIterator[TokenDelta]:
        """Yield TokenDeltas as they come; closing the iterator early (client gone) cancels.
        Raises EngineError if the engine fails while running the request."""
        loop = asyncio.get_running_loop()
        deltas: asyncio.Queue[TokenDelta] = asyncio.Queue()
        rid = self.submit(prompt_ids, params, lambda d: loop.call_soon_threadsafe(deltas.put_nowait, d))
        finished = False
        try:
            while not finished:
                delta = await deltas.get()
                finished = delta.finish_reason is not None
                if delta.finish_reason == "error":
                    raise EngineError(f"the inference engine failed while running request {rid}: "
                                      f"{self.last_error!r}")
                yield delta
        finally:
            if not finished:
                self.cancel(rid)

    def generate(self, prompts: list[list[int]], params: SamplingParams | list[SamplingParams] | None = None,
                 timeout: float | None = None) -> list[Completion]:
        """Blocking batch generation through the shared loop (thread-safe). Raises EngineError
        if the engine failed while running any of them."""
        if not isinstance(params, list):
            params = [params or SamplingParams()] * len(prompts)
        results: dict[int, Completion] = {}
        done = threading.Event()
        lock = threading.Lock()

        def on_token(d: TokenDelta) -> None:  # runs on the engine thread
            with lock:
                c = results[d.request_id]
                c.token_ids.extend(d.token_ids)
                if c.logprobs is not None and d.logprobs:
                    c.logprobs.extend(d.logprobs)
                if d.finish_reason:
                    c.finish_reason = d.finish_reason
                    if all(r.finish_reason for r in results.values()) and len(results) == len(prompts):
                        done.set()

        order = []
        for prompt, p in zip(prompts, params, strict=True):
            with lock:
                rid = self._new_id()
                results[rid] = Completion(rid, list(prompt), [], None, [] if p.logprobs else None)
            self.submit(prompt, p, on_token, request_id=rid)
            order.append(rid)
        if not done.wait(timeout):
            raise TimeoutError("generation did not finish in time")
        failed = [rid for rid in order if results[rid].finish_reason == "error"]
        if failed:
            raise EngineError(f"the inference engine failed while running requests {failed}: {self.last_error!r}")
        return [results[rid] for rid in order]

    def close(self) -> None:
        """Stop the loop; requests still in flight finish with reason "cancelled"."""
        self._stop = True
        self._wake.set()
        self._thread.join()

    # ---- the stepping thread --------------------------------------------------------------------

    def _loop(self) -> None:
        eng, failures = self.engine, 0
        try:
            while not self._stop:
                self._drain_inbox()
                if not eng.has_unfinished():
                    self._wake.wait()
                    self._wake.clear()
                    continue
                try:
                    eng.step()
                    failures = 0
                except Exception as e:  # a bug, or out of memory: the whole batch's state is suspect
                    failures += 1
                    self.last_error = e
                    log.exception("engine step failed (%d in a row); failing the requests in flight", failures)
                    eng.abort_all("error")
                    if failures >= MAX_FAILED_STEPS:
                        log.error("engine stopped after %d failed steps in a row", failures)
                        return
        except Exception as e:  # the loop itself broke (abort_all failed): stop, loudly
            self.last_error = e
            log.exception("engine loop stopped")
        finally:
            self._shut_down("cancelled" if self._stop else "error")

    def _drain_inbox(self) -> None:
        while True:
            try:
                msg = self._inbox.get_nowait()
            except queue.Empty:
                return
            if msg[0] == "cancel":
                self.engine.cancel(msg[1])
                continue
            _, rid, prompt, params, on_token = msg
            try:
                self.engine.add_request(prompt, params, on_token, request_id=rid)
            except Exception as e:  # refused after submit() validated it: tell the waiter
                self.last_error = e
                log.exception("request %s could not be added", rid)
                _notify(on_token, TokenDelta(rid, [], None, "error"))

    def _shut_down(self, reason: FinishReason) -> None:
        """Take no more requests; end every queued and running one with `reason`."""
        with self._state_lock:
            self._stopped = True
        while True:  # requests submitted before _stopped was set
            try:
                msg = self._inbox.get_nowait()
            except queue.Empty:
                break
            if msg[0] == "add":
                _notify(msg[4], TokenDelta(msg[1], [], None, reason))
        try:
            self.engine.abort_all(reason)
        except Exception:
            log.exception("could not finish the requests in flight")


def _notify(on_token: Callable[[TokenDelta], None] | None, delta: TokenDelta) -> None:
    if on_token is None:
        return
    try:
        on_token(delta)
    except Exception:
        log.exception("request %s: its callback failed", delta.request_id)
