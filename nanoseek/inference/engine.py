"""The inference engine: token ids in, token ids out, many requests sharing every step.

    Engine          synchronous core: add_request / step / cancel, and generate() for batches
                    (GRPO rollouts, evaluation)
    AsyncEngine     (async_engine.py) a background thread stepping an Engine, for a server

Models: our Transformer (MLA: the cache holds one latent per token and layer, MTP drafts) and
the R1-Distill LlamaTransformer (Llama, Qwen2: grouped-query attention, keys and values cached,
no MTP so no speculative decoding). Everything past the model's calls is shared.

Scheduling (continuous batching): a request takes a free cache slot, its prompt is prefilled in
chunks of at most `prefill_chunk` tokens per step (so a long prompt never stalls the requests
already decoding for long; short prompts share one padded forward), then it joins the batch
that decodes one token (or verifies one draft) per step. Requests join and leave between steps;
nobody's cache is ever recomputed.

With `speculative=True` every decode step feeds [last token, MTP draft] to the main model,
which checks the draft and yields one or two tokens; the MTP module drafts the next one from
the main model's hidden states (V3's self-speculative decoding). A draft is accepted when it
equals the token the request's own sampling picks at that position, so outputs are exactly
those of plain decoding, for greedy and (thanks to counter-based seeds) seeded sampling alike.
It pays where the MTP module is a small part of the model (V3: one layer of 62). On the 4-layer
presets it costs about half a decode step (its own block and the output head), and verifying two
tokens reads up to twice the routed experts: measured 0.6x plain tokens/s at batch 1 with 87%
of drafts accepted (benchmarks/decode.py --model runs/speedrun/model).

Failures: what a request brings itself fails alone: its sampling settings (a batch whose
sampling raises is sampled again request by request) and its `on_token` callback each end
only that request, with reason "error". A step that raises otherwise (the model's forward, out
of memory) raises from step(); `abort_all()` then ends every request (AsyncEngine does this).
"""

from __future__ import annotations

import itertools
import logging
import random
import time
from dataclasses import dataclass, field
from typing import Callable, Literal

import torch

from nanoseek.inference.cache import KVCachePool, LatentCachePool
from nanoseek.inference.quantize import check_mode, quantize_int8
from nanoseek.inference.sampling import SamplingParams, sample, token_uniform
from nanoseek.inference.step import GQARunner, ModelRunner
from nanoseek.model.llama import LlamaTransformer
from nanoseek.model.transformer import Transformer

FinishReason = Literal["stop", "length", "cancelled", "error"]
log = logging.getLogger("nanoseek.engine")
# Default max_len when the model allows more: every slot's cache is allocated up front, and
# 32 slots of Llama 3.1's 131072 positions would be hundreds of GB for the 8B.
DEFAULT_MAX_LEN = 4096


@dataclass
class TokenDelta:
    """What one step added to one request (streamed); `finish_reason` is set on its last delta."""

    request_id: int
    token_ids: list[int]
    logprobs: list[float] | None = None
    finish_reason: FinishReason | None = None


@dataclass
class Completion:
    """A finished request."""

    request_id: int
    prompt_token_ids: list[int]
    token_ids: list[int]  # generated tokens; a stop token that ended the request is included
    finish_reason: FinishReason
    logprobs: list[float] | None = None  # per generated token, if SamplingParams.logprobs
    num_draft_tokens: int = 0  # speculative drafts proposed ...
    num_accepted_tokens: int = 0  # ... and accepted


@dataclass
class _Request:
    id: int
    prompt: list[int]
    params: SamplingParams
    stops: frozenset[int]
    seed: int
    on_token: Callable[[TokenDelta], None] | None
    slot: int = -1
    prefilled: int = 0  # prompt tokens already in the cache
    output: list[int] = field(default_factory=list)
    logprobs: list[float] | None = None
    draft: int = -1  # MTP's guess for the token after output[-1]
    drafted: int = 0
    accepted: int = 0
    finish_reason: FinishReason | None = None

    @property
    def position(self) -> int:
        """Position of output[-1], the next token to feed (not yet in the cache)."""
        return len(self.prompt) + len(self.output) - 1

    def completion(self) -> Completion:
        return Completion(self.id, self.prompt, self.output, self.finish_reason, self.logprobs,
                          self.drafted, self.accepted)


class Engine:
    """Continuous-batching engine over a preallocated cache (not thread-safe: see AsyncEngine).

    model: a Transformer or a LlamaTransformer (put in eval mode here). max_slots: concurrent
    requests. max_len: tokens per request, prompt included (default: the model's
    max_position_embeddings, at most DEFAULT_MAX_LEN). compile: False, True or a torch.compile
    mode for the decode step. speculative: MTP drafts (Transformer only). absorb_prefill:
    prefill with MLA's absorbed attention (Transformer only). quantize="int8": int8 weights
    and per-token int8 activations in the linear layers (quantize.py), applied to the model in
    place. Requests stop by default at the config's eos_token_id (Llama 3's config.json lists
    several)."""

    def __init__(
        self,
        model: Transformer | LlamaTransformer,
        *,
        max_slots: int = 32,
        max_len: int | None = None,
        prefill_chunk: int = 256,
        speculative: bool = False,
        compile: bool | str = False,
        absorb_prefill: bool = False,
        quantize: str | None = None,
    ) -> None:
        cfg = model.config
        gqa = isinstance(model, LlamaTransformer)
        check_mode(quantize)
        if speculative:
            _require_mtp(model)
        if absorb_prefill and gqa:
            raise ValueError(f"absorb_prefill=True applies to MLA only; a {cfg.model_type} model has plain attention")
        self.model = quantize_int8(model.eval()) if quantize == "int8" else model.eval()
        self.config = cfg
        self.max_len = max_len or min(cfg.max_position_embeddings, DEFAULT_MAX_LEN)
        if self.max_len > cfg.max_position_embeddings:
            raise ValueError(f"max_len must be <= max_position_embeddings={cfg.max_position_embeddings}, "
                             f"got {self.max_len}")
        self.prefill_chunk = prefill_chunk
        self.speculative = speculative
        dtype = next(model.parameters()).dtype
        if gqa:
            self.pool = KVCachePool(cfg, max_slots, self.max_len, dtype=dtype)
            self.runner = GQARunner(model, self.pool, compile=compile)
        else:
            self.pool = LatentCachePool(cfg, max_slots, self.max_len, with_mtp=speculative, dtype=dtype)
            self.runner = ModelRunner(model, self.pool, compile=compile, absorb_prefill=absorb_prefill)
        self.counts = torch.zeros(max_slots, cfg.vocab_size)  # generated-token counts (penalties)
        self._ids = itertools.count()
        self._generator = torch.Generator()
        self.waiting: list[_Request] = []
        self.prefilling: list[_Request] = []
        self.decoding: list[_Request] = []
        self._deltas: list[TokenDelta] = []  # produced since the last step() returned
        self._awaited: dict[int, Completion | None] = {}  # ids generate() waits for -> result
        self._unfinished: dict[int, _Request] = {}  # every request not yet finished, wherever it is
        self.stats = {"steps": 0, "decode_steps": 0, "generated": 0, "drafted": 0, "accepted": 0}

    # ---- requests ---------------------------------------------------------------------------

    def add_request(
        self,
        prompt_ids: list[int],
        params: SamplingParams | None = None,
        on_token: Callable[[TokenDelta], None] | None = None,
        request_id: int | None = None,
    ) -> int:
        """Queue a prompt; returns its id. `on_token` gets every TokenDelta (on the stepping thread)."""
        params = params or SamplingParams()
        self.validate(prompt_ids, params)
        prompt = [int(t) for t in prompt_ids]
        stops = params.stop_token_ids
        if stops is None:
            stops = self.default_stops
        seed = params.seed if params.seed is not None else random.getrandbits(63)
        rid = next(self._ids) if request_id is None else request_id
        req = _Request(rid, prompt, params, frozenset(stops), seed, on_token,
                       logprobs=[] if params.logprobs else None)
        self.waiting.append(req)
        self._unfinished[rid] = req
        return rid

    @property
    def default_stops(self) -> tuple[int, ...]:
        """Where a request that names no stop tokens stops: the config's eos_token_id(s)."""
        eos = self.config.eos_token_id
        return () if eos is None else tuple(eos) if isinstance(eos, list) else (eos,)

    def validate(self, prompt_ids: list[int], params: SamplingParams) -> None:
        """Raise ValueError (naming what is wrong) for a request this engine cannot run."""
        params.validate(self.config.vocab_size)
        if not prompt_ids or len(prompt_ids) >= self.max_len:
            raise ValueError(f"prompt must have 1 to {self.max_len - 1} tokens, got {len(prompt_ids)}")
        if not all(0 <= int(t) < self.config.vocab_size for t in prompt_ids):
            raise ValueError(f"prompt token ids must be in [0, {self.config.vocab_size})")

    def cancel(self, request_id: int) -> bool:
        """Finish a request now with reason "cancelled" and free its slot; False if unknown/finished."""
        for req in self.waiting + self.prefilling + self.decoding:
            if req.id == request_id:
                self._end(req, "cancelled")
                return True
        return False

    def _end(self, req: _Request, reason: FinishReason) -> None:
        """Take an unfinished request out of whichever queue holds it and finish it now."""
        for group in (self.waiting, self.prefilling, self.decoding):
            if req in group:
                group.remove(req)
        self._finish(req, reason, [])

    def has_unfinished(self) -> bool:
        return bool(self.waiting or self.prefilling or self.decoding)

    def abort_all(self, reason: FinishReason = "error") -> int:
        """Finish every unfinished request with `reason` and free every cache slot; returns how
        many. For after a step raised: a half-done step may have left a request in no queue, so
        this goes by the registry of unfinished requests, not the queues. A callback that raises
        here is logged and skipped, so every other request still hears of its end."""
        reqs = list(self._unfinished.values())
        self.waiting, self.prefilling, self.decoding = [], [], []
        for req in reqs:
            try:
                self._finish(req, reason, [])
            except Exception:
                log.exception("request %s: its callback failed while being finished (%s)", req.id, reason)
        self._unfinished.clear()
        self.pool.reset()
        return len(reqs)

    @property
    def free_slots(self) -> int:
        return self.pool.free_slots

    # ---- batch API (GRPO rollouts, eval) ------------------------------------------------------

    def generate(self, prompts: list[list[int]], params: SamplingParams | list[SamplingParams] | None = None,
                 on_token: Callable[[TokenDelta], None] | None = None) -> list[Completion]:
        """Run prompts to completion (sharing the batch with anything already queued) -> Completions
        in prompt order. With SamplingParams(logprobs=True) each has the sampled tokens' log-probs."""
        if not isinstance(params, list):
            params = [params or SamplingParams()] * len(prompts)
        ids = [self.add_request(prompt, p, on_token) for prompt, p in zip(prompts, params, strict=True)]
        self._awaited.update(dict.fromkeys(ids))
        while any(self._awaited[i] is None for i in ids):
            self.step()
        return [self._awaited.pop(i) for i in ids]

    def warm_up(self) -> float:
        """Compile the steps now, not on the first requests: a short prompt alone and two long ones
        together, a few tokens each. That covers every graph (batch 1 and a dynamic batch; short
        prompts and long ones, whose MoE sorts instead of gathering). Seconds taken."""
        start = time.perf_counter()
        params = SamplingParams(max_new_tokens=4, stop_token_ids=())
        long = min(64, self.max_len - params.max_new_tokens - 1)
        self.generate([[0, 0]], params)
        self.generate([[0] * long] * min(2, self.pool.slots), params)
        self.stats.update(steps=0, decode_steps=0, generated=0, drafted=0, accepted=0)
        return time.perf_counter() - start

    # ---- the step loop ------------------------------------------------------------------------

    @torch.inference_mode()
    def step(self) -> list[TokenDelta]:
        """One scheduler iteration: admit, prefill up to one chunk budget, decode everyone once.
        Returns the step's TokenDeltas (also passed to each request's on_token)."""
        self._admit()
        self._prefill()
        if self.decoding:
            self._decode_speculative() if self.speculative else self._decode()
        self.stats["steps"] += 1
        deltas, self._deltas = self._deltas, []  # (deltas of cancels between steps included)
        return deltas

    def _admit(self) -> None:
        while self.waiting and self.pool.free_slots:
            req = self.waiting.pop(0)
            req.slot = self.pool.allocate()
            self.counts[req.slot].zero_()
            self.prefilling.append(req)

    def _prefill(self) -> None:
        """This step's prompt chunks (`_prefill_chunks`) through the model as one padded batch,
        then the first token of every request whose prompt is now complete."""
        chunks = self._prefill_chunks()
        if not chunks:
            return
        width = max(end - start for _, start, end in chunks)
        ids = torch.zeros(len(chunks), width, dtype=torch.long)  # padding past a chunk's end: see below
        for row, (req, start, end) in enumerate(chunks):
            ids[row, : end - start] = torch.tensor(req.prompt[start:end])
        # [n, width, D]. A padded row writes cache entries past its chunk, which no query of its
        # own attends to (they lie after every real position) and its next tokens overwrite.
        h = self.runner.prefill(ids, [start for _, start, _ in chunks], [req.slot for req, _, _ in chunks])
        done = [row for row, (req, _, end) in enumerate(chunks) if end == len(req.prompt)]
        finished = [chunks[row][0] for row in done]
        if finished:
            for req in finished:  # (before sampling, which may end a request: see _sample)
                self.prefilling.remove(req)
            last = torch.tensor([chunks[row][2] - chunks[row][1] - 1 for row in done])
            logits = self.model.logits(h[torch.tensor(done), last])  # [len(done), V]
            tokens, logprobs = self._sample(finished, logits, [0] * len(finished))
            for i, req in enumerate(finished):
                self._emit(req, [tokens[i]], None if logprobs is None else [logprobs[i]])
                if req.finish_reason is None:
                    self.decoding.append(req)
        for row, (req, start, end) in enumerate(chunks):
            req.prefilled = end
            if self.speculative and req.finish_reason is None:
                complete = end == len(req.prompt)
                nxt = req.prompt[start + 1 : end + 1] + (req.output[:1] if complete else [])
                mtp_logits = self.runner.prefill_mtp(h[row : row + 1, : end - start], torch.tensor([nxt]), start,
                                                     req.slot)  # [1, V]
                if complete:
                    req.draft = int(mtp_logits[0].argmax())

    def _prefill_chunks(self) -> list[tuple[_Request, int, int]]:
        """(request, start, end) of the prompt chunks this step prefills: the queue's requests in
        order, `prefill_chunk` tokens in all. Only the first may stop short of its prompt's end:
        a request that is still prefilling leaves a gap in the decoding slots, and a step over
        consecutive slots reads the cache in place (step.py). Requests share the step's batch
        while its padding stays within twice the budget and every padded row still fits in its
        slot; a compiled step takes one request at a time (its graphs see one batch shape)."""
        budget, chunks, width = self.prefill_chunk, [], 0
        for req in self.prefilling:
            start = req.prefilled
            end = min(len(req.prompt), start + budget)
            wider = max(width, end - start)
            if chunks and (self.runner.compiled or end < len(req.prompt)
                           or (len(chunks) + 1) * wider > 2 * self.prefill_chunk
                           or max(start, *(c[1] for c in chunks)) + wider > self.max_len):
                break
            chunks.append((req, start, end))
            width, budget = wider, budget - (end - start)
            if budget <= 0:
                break
        return chunks

    def _decode(self) -> None:
        # In slot order: consecutive slots are read from the cache in place (step.py). A copy:
        # sampling may end a request, which leaves self.decoding.
        reqs = sorted(self.decoding, key=lambda r: r.slot)
        ids = torch.tensor([[r.output[-1]] for r in reqs])
        positions = torch.tensor([[r.position] for r in reqs])
        slots = torch.tensor([r.slot for r in reqs])
        _, logits = self.runner.decode(ids, positions, slots)
        tokens, logprobs = self._sample(reqs, logits[:, 0], [0] * len(reqs))
        for i, req in enumerate(reqs):
            self._emit(req, [tokens[i]], None if logprobs is None else [logprobs[i]])
        self.stats["decode_steps"] += 1

    def _decode_speculative(self) -> None:
        """Verify [last, draft] for every request in one main-model step, then draft again."""
        reqs = sorted(self.decoding, key=lambda r: r.slot)
        n = len(reqs)
        ids = torch.tensor([[r.output[-1], r.draft] for r in reqs])
        positions = torch.tensor([[r.position, r.position + 1] for r in reqs])
        slots = torch.tensor([r.slot for r in reqs])
        h, logits = self.runner.decode(ids, positions, slots)  # [n, 2, D], [n, 2, V]
        # Row 2i: the token after `last`; row 2i+1: the token after the draft, valid if it was right.
        rows = [r for r in reqs for _ in range(2)]
        drafts = torch.tensor([r.draft for r in reqs])
        tokens, logprobs = self._sample(rows, logits.flatten(0, 1), [0, 1] * n, drafts)
        pairs = torch.tensor(tokens).view(n, 2)
        accepted = pairs[:, 0] == drafts  # [n]
        mtp_logits = self.runner.mtp(h, pairs, positions, slots)  # [n, 2, V]
        next_drafts = mtp_logits.argmax(-1).gather(1, accepted.long().unsqueeze(1)).squeeze(1)
        tokens_l, accepted_l, drafts_l = pairs.tolist(), accepted.tolist(), next_drafts.tolist()
        lp = None if logprobs is None else [logprobs[2 * i : 2 * i + 2] for i in range(n)]
        for i, req in enumerate(reqs):
            new = tokens_l[i] if accepted_l[i] else tokens_l[i][:1]
            req.drafted += 1
            req.accepted += int(accepted_l[i])
            req.draft = drafts_l[i]
            self._emit(req, new, None if lp is None else lp[i][: len(new)])
        self.stats["decode_steps"] += 1
        self.stats["drafted"] += n
        self.stats["accepted"] += sum(accepted_l)

    # ---- sampling and bookkeeping -------------------------------------------------------------

    def _sample(self, rows: list[_Request], logits: torch.Tensor, ahead: list[int],
                drafts: torch.Tensor | None = None) -> tuple[list[int], list[float] | None]:
        """logits [R, V] for rows (a request per row; `ahead` = how many tokens past its last
        output the row's token lies: 0, or 1 for the token after a draft). Sampling is where a
        request's own settings act, so when the batch fails it is redone request by request:
        a request that fails alone ends with "error" (its rows get token 0, which `_emit`
        drops) and the others go on."""
        try:
            return self._sample_batch(rows, logits, ahead, drafts)
        except Exception:
            log.exception("sampling a batch of %d rows failed; sampling request by request", len(rows))
        tokens, logprobs, start = [], [], 0
        for n, (_, group) in enumerate(itertools.groupby(rows, key=lambda r: r.id)):
            group = list(group)
            req, width = group[0], len(group)
            end = start + width
            try:
                t, lp = self._sample_batch([req] * width, logits[start:end], ahead[start:end],
                                           None if drafts is None else drafts[n : n + 1])
            except Exception:
                log.exception("request %s: sampling failed; ending the request", req.id)
                self._end(req, "error")
                t, lp = [0] * width, None
            tokens += t
            logprobs += lp if lp is not None else [0.0] * width
            start = end
        return tokens, logprobs if any(r.params.logprobs for r in rows) else None

    def _sample_batch(self, rows: list[_Request], logits: torch.Tensor, ahead: list[int],
                      drafts: torch.Tensor | None) -> tuple[list[int], list[float] | None]:
        params = [r.params for r in rows]
        uniforms = [0.0 if p.greedy else token_uniform(self._generator, r.seed, len(r.output) + a)
                    for r, p, a in zip(rows, params, ahead)]
        counts = None
        if any(p.penalised for p in params):
            counts = self.counts[torch.tensor([r.slot for r in rows])]
            if drafts is not None:  # the row after a draft also counts the draft as generated
                counts[1::2].scatter_add_(1, drafts.unsqueeze(1), torch.ones(len(drafts), 1))
        want = any(p.logprobs for p in params)
        tokens, logprobs = sample(logits, params, uniforms, counts, want)
        return tokens.tolist(), None if logprobs is None else logprobs.tolist()

    def _emit(self, req: _Request, tokens: list[int], logprobs: list[float] | None) -> None:
        """Append sampled tokens up to the first stop / length limit; finish the request if hit."""
        if req.finish_reason is not None:  # cancelled by a callback earlier in this step
            return
        kept, reason = [], None
        for t in tokens:
            kept.append(t)
            if t in req.stops:
                reason = "stop"
            elif len(req.output) + len(kept) >= req.params.max_new_tokens:
                reason = "length"
            elif len(req.prompt) + len(req.output) + len(kept) >= self.max_len:
                reason = "length"  # no room left in the cache to feed this token
            if reason:
                break
        req.output.extend(kept)
        if req.logprobs is not None and logprobs is not None:
            req.logprobs.extend(logprobs[: len(kept)])
        if req.params.penalised:
            for t in kept:
                self.counts[req.slot, t] += 1
        self.stats["generated"] += len(kept)
        if reason:
            if req in self.decoding:
                self.decoding.remove(req)
            self._finish(req, reason, kept, logprobs)
        else:
            self._deliver(req, TokenDelta(req.id, kept, None if req.logprobs is None else logprobs[: len(kept)]))

    def _finish(self, req: _Request, reason: FinishReason, last: list[int], logprobs=None) -> None:
        req.finish_reason = reason
        self._unfinished.pop(req.id, None)
        if req.slot >= 0:
            self.pool.release(req.slot)
            req.slot = -1
        lp = None if req.logprobs is None or logprobs is None else logprobs[: len(last)]
        self._deliver(req, TokenDelta(req.id, last, lp, reason))

    def _deliver(self, req: _Request, delta: TokenDelta) -> None:
        self._deltas.append(delta)
        if delta.finish_reason is not None and req.id in self._awaited:
            self._awaited[req.id] = req.completion()
        if req.on_token is None:
            return
        try:
            req.on_token(delta)
        except Exception:  # the caller's code broke, not the batch: end this request alone
            log.exception("request %s: its callback failed; ending the request", req.id)
            req.on_token = None
            if delta.finish_reason is None:
                self._end(req, "error")

    # ---- accounting ----------------------------------------------------------------------------

    def cache_report(self) -> dict:
        """Cache numbers per token per layer: MLA latents ("latent_per_layer") or GQA keys and
        values ("kv_per_layer") vs an MHA cache of the same heads."""
        pool = self.pool
        return {
            f"{pool.cached}_per_layer": pool.width,
            "mha_per_layer": pool.mha_width,
            "ratio": pool.width / pool.mha_width,
            "bytes_per_token": pool.bytes_per_token(),
        }


def _require_mtp(model: Transformer | LlamaTransformer) -> None:
    """speculative=True drafts with the MTP module: refuse a model that has none."""
    if isinstance(model, LlamaTransformer):
        raise ValueError(f"speculative=True needs an MTP module; a {model.config.model_type} model "
                         "(LlamaTransformer) has none: use speculative=False")
    if model.config.num_nextn_predict_layers < 1:
        raise ValueError("speculative=True needs an MTP module (config.num_nextn_predict_layers >= 1)")
