"""The inference engine: exact tokens against the model's full forward, batching, sampling,
speculation, stops, cancellation, streaming. Tiny model with a wide init so logits are far
from ties (a random model at the default init std has near-equal logits)."""

import asyncio

import pytest
import torch
from torch.fx.experimental.proxy_tensor import make_fx

from nanoseek import Transformer
from nanoseek.config import tiny
from nanoseek.inference import AsyncEngine, Engine, EngineError, SamplingError, SamplingParams
from nanoseek.inference.async_engine import MAX_FAILED_STEPS
from nanoseek.inference.cache import LatentCachePool, StepView, latent_width, mha_width, span_bucket
from nanoseek.inference.compile import SkinnyMatmuls, packed_linear
from nanoseek.inference.sampling import sample

GREEDY = SamplingParams(max_new_tokens=12, stop_token_ids=())
SAMPLED = SamplingParams(max_new_tokens=12, stop_token_ids=(), temperature=1.0, top_p=0.9, top_k=40, seed=7,
                         presence_penalty=0.3, frequency_penalty=0.2)
PROMPTS = [[5, 6, 7, 8, 9], [3] * 21, [100, 200], list(range(40, 77))]


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return Transformer(tiny().replace(initializer_range=0.1)).eval()


def argmax_decode(model, prompt, n):
    ids = list(prompt)
    with torch.no_grad():
        for _ in range(n):
            ids.append(int(model(torch.tensor([ids]))[0, -1].argmax()))
    return ids[len(prompt):]


def test_greedy_equals_full_forward_argmax(model):
    engine = Engine(model, max_slots=4, max_len=96, prefill_chunk=16)  # chunked: prompt of 37
    for prompt, c in zip(PROMPTS, engine.generate(PROMPTS, GREEDY)):
        assert c.token_ids == argmax_decode(model, prompt, 12)
        assert c.finish_reason == "length"


@pytest.mark.parametrize("params", [GREEDY, SAMPLED], ids=["greedy", "sampled"])
def test_batched_equals_alone(model, params):
    batched = Engine(model, max_slots=4, max_len=96).generate(PROMPTS, params)
    for prompt, c in zip(PROMPTS, batched):
        alone = Engine(model, max_slots=1, max_len=96).generate([prompt], params)[0]
        assert c.token_ids == alone.token_ids


def _prefill_shapes(engine: Engine) -> list[tuple[int, int]]:
    """Record the [rows, width] of every prefill batch the engine runs."""
    shapes, prefill = [], engine.runner.prefill
    engine.runner.prefill = lambda ids, starts, slots: shapes.append(tuple(ids.shape)) or prefill(ids, starts, slots)
    return shapes


def test_a_prompt_that_does_not_fit_the_budget_waits_for_the_next_step(model):
    """With a 16-token budget the 5-token prompt prefills with the 2-token one; the 21-token
    prompt, which would stop short of its end, starts the next step alone."""
    engine = Engine(model, max_slots=3, max_len=96, prefill_chunk=16)
    shapes = _prefill_shapes(engine)
    prompts = [PROMPTS[0], PROMPTS[2], PROMPTS[1]]
    got = [c.token_ids for c in engine.generate(prompts, SamplingParams(max_new_tokens=2, stop_token_ids=()))]
    assert shapes == [(2, 5), (1, 16), (1, 5)]
    assert got == [argmax_decode(model, p, 2) for p in prompts]


def test_prompts_prefill_together_in_one_padded_batch(model):
    """The four prompts (2 to 37 tokens) share one prefill, padded to the longest; that their
    tokens are each prompt's alone is test_batched_equals_alone."""
    engine = Engine(model, max_slots=4, max_len=96)
    shapes = _prefill_shapes(engine)
    engine.generate(PROMPTS, GREEDY)
    assert shapes == [(4, 37)]


def test_a_padded_prefill_row_never_runs_past_its_slot(model):
    """The 37-token prompt's last chunk starts at 32 with max_len 40: padding it to the next
    prompt's 10 tokens would write positions up to 41, so that prompt waits a step."""
    prompts = [PROMPTS[3], list(range(1, 11))]
    engine = Engine(model, max_slots=2, max_len=40, prefill_chunk=16)
    shapes = _prefill_shapes(engine)
    params = SamplingParams(max_new_tokens=2, stop_token_ids=())
    got = [c.token_ids for c in engine.generate(prompts, params)]
    assert shapes == [(1, 16), (1, 16), (1, 5), (1, 10)]
    assert got == [argmax_decode(model, p, 2) for p in prompts]


def test_consecutive_slots_are_read_in_place_others_gathered():
    """A step whose slots are consecutive buffer rows gets a view of them; any other set of
    slots, a copy; both hold the same latents."""
    buffer = torch.zeros(4, 9, 3)
    positions = torch.tensor([[2], [3]])
    new = torch.tensor([[[1.0, 2, 3]], [[4.0, 5, 6]]])
    for slots, rows in [(torch.tensor([1, 2]), slice(1, 3)), (torch.tensor([1, 2]), None), (torch.tensor([3, 0]), None)]:
        view = StepView.build(slots, positions, torch.arange(8), rows)
        held = view.store(buffer, new)  # [2, 8, 3]
        assert held.shape == (2, 8, 3) and held[0, 2].tolist() == [1, 2, 3] and held[1, 3].tolist() == [4, 5, 6]
        assert (held.untyped_storage().data_ptr() == buffer.untyped_storage().data_ptr()) == (rows is not None)
    assert span_bucket(65, 500) == 128 and span_bucket(65, 500, few_shapes=False) == 128
    assert span_bucket(129, 500) == 256 and span_bucket(129, 500, few_shapes=False) == 192
    assert span_bucket(490, 500, few_shapes=False) == 500


def _sorted_vocabulary_draw(logits: torch.Tensor, p: SamplingParams, u: float) -> int:
    """One row drawn the plain way: sort the whole vocabulary, cut top-k then top-p, invert the CDF."""
    x, order = (logits / p.temperature).sort(descending=True)
    x[(p.top_k or len(x)) :] = float("-inf")
    probs = x.softmax(-1)
    probs[(probs.cumsum(0) - probs >= p.top_p) & (torch.arange(len(x)) > 0)] = 0.0
    cdf = probs.double().cumsum(0)
    index = min(int(torch.searchsorted(cdf, u * cdf[-1], right=True)), int(probs.nonzero().max()))
    return int(order[index])


def test_top_k_top_p_among_candidates_draw_what_sorting_the_vocabulary_draws():
    """_draw looks for the nucleus among the 64 most likely tokens first: its tokens are those of
    sorting each row's whole vocabulary, for peaked rows (the nucleus lies there) and flat ones
    (it does not, and those rows are sorted), with top-k above and below 64."""
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(96, 500, generator=g) * torch.linspace(0.05, 6.0, 96).unsqueeze(1)  # flat ... peaked
    params = [SamplingParams(temperature=0.7, top_p=(0.5, 0.9, 0.95)[i % 3], top_k=(0, 10, 200)[i % 4 % 3])
              for i in range(96)]
    uniforms = torch.rand(96, generator=g, dtype=torch.float64).tolist()
    top64 = (logits / 0.7).softmax(-1).topk(64).values.sum(-1)
    assert (top64 < 0.5).sum() >= 10 and (top64 > 0.95).sum() >= 10  # both paths are taken
    tokens, _ = sample(logits, params, uniforms)
    assert tokens.tolist() == [_sorted_vocabulary_draw(logits[i], params[i], uniforms[i]) for i in range(96)]


def test_same_seed_same_output_other_seed_differs(model):
    engine = Engine(model, max_slots=4, max_len=96)
    a, b, c = engine.generate([PROMPTS[0]] * 3, [SAMPLED, SAMPLED, SamplingParams(**{**SAMPLED.__dict__, "seed": 8})])
    assert a.token_ids == b.token_ids != c.token_ids


def test_mid_flight_join_does_not_change_others(model):
    engine = Engine(model, max_slots=4, max_len=96)
    first = engine.add_request(PROMPTS[1], GREEDY)
    out = {first: []}
    for _ in range(4):
        for d in engine.step():
            out[d.request_id].extend(d.token_ids)
    late = engine.add_request(PROMPTS[3], GREEDY)  # joins while `first` is decoding
    out[late] = []
    while engine.has_unfinished():
        for d in engine.step():
            out[d.request_id].extend(d.token_ids)
    assert out[first] == argmax_decode(model, PROMPTS[1], 12)
    assert out[late] == argmax_decode(model, PROMPTS[3], 12)


@pytest.mark.parametrize("params", [GREEDY, SAMPLED], ids=["greedy", "sampled"])
def test_speculative_equals_plain(model, params):
    plain = Engine(model, max_slots=4, max_len=96).generate(PROMPTS, params)
    spec_engine = Engine(model, max_slots=4, max_len=96, speculative=True)
    spec = spec_engine.generate(PROMPTS, params)
    assert [c.token_ids for c in spec] == [c.token_ids for c in plain]
    assert spec_engine.stats["drafted"] > 0


def test_speculative_accept_path_with_oracle_drafts(model):
    """Random MTP weights never guess right: swap in drafts that are right 2 times in 3 so the
    accept branch (two tokens per step, cache positions skipped ahead) is exercised."""
    reference = {tuple(p): p + argmax_decode(model, p, 14) for p in PROMPTS}
    engine = Engine(model, max_slots=4, max_len=96, speculative=True)
    real_mtp = engine.runner.mtp

    def oracle(h, next_ids, positions, slots):
        logits = real_mtp(h, next_ids, positions, slots)
        for b, slot in enumerate(slots.tolist()):
            seq = reference[tuple(next(r for r in engine.decoding if r.slot == slot).prompt)]
            for t, pos in enumerate(positions[b].tolist()):
                if pos % 3:
                    logits[b, t, seq[pos + 2]] = 1e4
        return logits

    engine.runner.mtp = oracle
    for prompt, c in zip(PROMPTS, engine.generate(PROMPTS, GREEDY)):
        assert c.token_ids == reference[tuple(prompt)][len(prompt) : len(prompt) + 12]
    assert engine.stats["accepted"] > engine.stats["drafted"] // 3


def test_compiled_engine_equals_eager(model):
    """The compiled decode steps give the eager engine's tokens: batch 1 (its own graph, where
    the matvec pass rewrites the matmuls) and batch 4 (one dynamic graph), plain and speculative
    (which compiles the 2-token verify step and the MTP draft step too)."""
    for speculative in (False, True):
        eager = Engine(model, max_slots=4, max_len=96, speculative=speculative)
        compiled = Engine(model, max_slots=4, max_len=96, speculative=speculative, compile=True)
        for prompts in (PROMPTS[:1], PROMPTS):
            want = [c.token_ids for c in eager.generate(prompts, GREEDY)]
            assert [c.token_ids for c in compiled.generate(prompts, GREEDY)] == want


def test_warm_up_leaves_the_engine_as_new(model):
    engine = Engine(model, max_slots=4, max_len=96)
    assert engine.warm_up() > 0
    assert engine.free_slots == 4 and not engine.has_unfinished()
    assert engine.stats == {"steps": 0, "decode_steps": 0, "generated": 0, "drafted": 0, "accepted": 0}
    assert [c.token_ids for c in engine.generate(PROMPTS, GREEDY)] == \
        [c.token_ids for c in Engine(model, max_slots=4, max_len=96).generate(PROMPTS, GREEDY)]


@pytest.mark.parametrize("rows, rewritten", [(1, True), (2, True), (3, False)])
def test_skinny_matmul_pass_turns_one_or_two_rows_into_reductions(rows, rewritten):
    a, w = torch.randn(rows, 16), torch.randn(8, 16)
    graph = make_fx(lambda a, w: torch.mm(a, w.t()))(a, w)
    SkinnyMatmuls()(graph.graph)
    graph.recompile()
    assert (torch.ops.aten.mm.default not in {n.target for n in graph.graph.nodes}) == rewritten
    torch.testing.assert_close(graph(a, w), a @ w.t())


def test_skinny_matmul_pass_sends_a_symbolic_row_count_to_packed_onednn():
    a, w = torch.randn(5, 16), torch.randn(8, 16)
    graph = make_fx(lambda a, w: torch.mm(a, w.t()), tracing_mode="symbolic")(a, w)
    SkinnyMatmuls()(graph.graph)
    graph.recompile()
    assert {n.target for n in graph.graph.nodes} >= {torch.ops.nanoseek.packed_linear.default}
    assert graph(torch.randn(7, 16), w).shape == (7, 8)  # any row count
    torch.testing.assert_close(graph(a, w), a @ w.t())


def test_packed_linear_follows_in_place_weight_updates():
    x, w = torch.randn(4, 16), torch.randn(8, 16)
    torch.testing.assert_close(packed_linear(x, w), x @ w.t())
    w.mul_(-2)  # as an optimizer step would: the packed copy must not go stale
    torch.testing.assert_close(packed_linear(x, w), x @ w.t())


def test_decode_on_the_engine_cache_equals_model_forward_absorbed_and_expanded(model):
    """Token-by-token decoding on the engine's latent cache against the model's full forward,
    with absorbed and with expanded attention."""
    cfg = model.config
    ids = torch.randint(0, cfg.vocab_size, (2, 9))
    full = model(ids)
    outs = {}
    with torch.no_grad():
        for name in ["absorbed", "expanded"]:
            pool = LatentCachePool(cfg, slots=3, max_len=32)
            slots = torch.tensor([2, 0])
            steps = []
            for t in range(9):
                pos = torch.full((2, 1), t)
                view = StepView.build(slots, pos, torch.arange(32))
                h, _ = model.hidden_states(ids[:, t : t + 1], pos, pool.main_caches(view), name == "absorbed")
                steps.append(model.logits(h))
            outs[name] = torch.cat(steps, 1)
    for name, out in outs.items():
        assert (out - full).abs().max().item() < 1e-4, name


def test_mtp_step_equals_model_mtp_forward(model):
    cfg = model.config
    ids = torch.randint(0, cfg.vocab_size, (1, 8))
    with torch.no_grad():
        h, _ = model.hidden_states(ids)
        positions = torch.arange(7).unsqueeze(0)
        _, full = model.mtp_forward(0, h[:, :-1], ids[:, 1:], positions)
        pool = LatentCachePool(cfg, slots=1, max_len=16, with_mtp=True)
        steps = []
        for t in range(7):
            pos = positions[:, t : t + 1]
            view = StepView.build(torch.tensor([0]), pos, torch.arange(16))
            steps.append(model.mtp_forward(0, h[:, t : t + 1], ids[:, t + 1 : t + 2], pos, pool.mtp_cache(0, view),
                                           absorb=True)[1])
    assert (torch.cat(steps, 1) - full).abs().max().item() < 1e-4


def test_stop_token_and_max_new_tokens(model):
    engine = Engine(model, max_slots=2, max_len=96)
    free_run = argmax_decode(model, PROMPTS[0], 12)
    stop = free_run[4]
    first = free_run.index(stop)
    c = engine.generate([PROMPTS[0]], SamplingParams(max_new_tokens=12, stop_token_ids=(stop,)))[0]
    assert c.finish_reason == "stop" and c.token_ids == free_run[: first + 1]
    c = engine.generate([PROMPTS[0]], SamplingParams(max_new_tokens=3, stop_token_ids=()))[0]
    assert c.finish_reason == "length" and c.token_ids == free_run[:3]


def test_cache_full_finishes_with_length(model):
    engine = Engine(model, max_slots=1, max_len=16)
    c = engine.generate([PROMPTS[1][:10]], SamplingParams(max_new_tokens=100, stop_token_ids=()))[0]
    assert c.finish_reason == "length" and len(c.token_ids) == 6


def test_cancel_frees_the_slot(model):
    engine = Engine(model, max_slots=1, max_len=96)
    seen = []
    rid = engine.add_request(PROMPTS[0], SamplingParams(max_new_tokens=50, stop_token_ids=()), seen.append)
    waiting = engine.add_request(PROMPTS[2], GREEDY)
    engine.step()
    engine.step()
    assert engine.free_slots == 0
    assert engine.cancel(rid)
    assert seen[-1].finish_reason == "cancelled" and engine.free_slots == 1
    done = engine.generate([], GREEDY)  # nothing new; the waiting request still runs below
    assert done == []
    out = []
    while engine.has_unfinished():
        out += [t for d in engine.step() if d.request_id == waiting for t in d.token_ids]
    assert out == argmax_decode(model, PROMPTS[2], 12)
    assert not engine.cancel(rid)


def test_logprobs_are_the_models(model):
    engine = Engine(model, max_slots=2, max_len=96)
    c = engine.generate([PROMPTS[0]], SamplingParams(max_new_tokens=5, stop_token_ids=(), temperature=1.0,
                                                      seed=1, logprobs=True))[0]
    seq = torch.tensor([PROMPTS[0] + c.token_ids])
    with torch.no_grad():
        logp = model(seq)[0, len(PROMPTS[0]) - 1 : -1].log_softmax(-1)
    want = logp.gather(1, torch.tensor(c.token_ids).unsqueeze(1)).squeeze(1)
    assert torch.allclose(torch.tensor(c.logprobs), want, atol=1e-4)


def test_streaming_callback_sees_every_token(model):
    engine = Engine(model, max_slots=4, max_len=96, speculative=True)
    streamed = {}
    comps = engine.generate(PROMPTS, GREEDY, on_token=lambda d: streamed.setdefault(d.request_id, []).extend(d.token_ids))
    assert all(streamed[c.request_id] == c.token_ids for c in comps)


def test_a_failing_callback_ends_only_its_request(model):
    engine = Engine(model, max_slots=4, max_len=96)

    def broken(delta):
        if delta.token_ids:
            raise ValueError("a bug in the caller's code")

    bad = engine.add_request(PROMPTS[0], GREEDY, on_token=broken)
    good = engine.add_request(PROMPTS[1], GREEDY)
    out, reasons = {bad: [], good: []}, {}
    while engine.has_unfinished():
        for d in engine.step():
            out[d.request_id].extend(d.token_ids)
            reasons[d.request_id] = d.finish_reason
    assert reasons == {bad: "error", good: "length"}
    assert out[good] == argmax_decode(model, PROMPTS[1], 12)
    assert engine.free_slots == 4


@pytest.mark.parametrize("speculative", [False, True], ids=["plain", "speculative"])
def test_a_request_whose_sampling_fails_ends_alone(model, monkeypatch, speculative):
    """Sampling settings are the request's own input: when they break sampling (a bug the
    validation missed) in the middle of a batch, that request ends with "error" and the rest
    decode as if alone."""
    import nanoseek.inference.engine as engine_module

    poisoned = SamplingParams(**{**SAMPLED.__dict__, "top_k": 39})  # stands for settings that break sampling
    params = [GREEDY, poisoned, SAMPLED, GREEDY]
    alone = [Engine(model, max_slots=1, max_len=96).generate([prompt], p)[0].token_ids
             for prompt, p in zip(PROMPTS, params)]
    real, calls = engine_module.sample, [0]

    def sample(logits, params, *args, **kwargs):
        if any(p is poisoned for p in params):
            calls[0] += 1
            if calls[0] > 2:  # its prefill and first decode batch pass, then it breaks
                raise RuntimeError("injected sampling failure")
        return real(logits, params, *args, **kwargs)

    monkeypatch.setattr(engine_module, "sample", sample)
    engine = Engine(model, max_slots=4, max_len=96, speculative=speculative)
    out = engine.generate(PROMPTS, params)
    assert [c.finish_reason for c in out] == ["length", "error", "length", "length"]
    assert 1 <= len(out[1].token_ids) < 12 and out[1].token_ids == alone[1][: len(out[1].token_ids)]
    assert [c.token_ids for i, c in enumerate(out) if i != 1] == [a for i, a in enumerate(alone) if i != 1]
    assert engine.free_slots == 4 and not engine.has_unfinished()


def test_async_engine_streams_and_cancels(model):
    aeng = AsyncEngine(Engine(model, max_slots=2, max_len=96))
    try:
        async def main():
            async def collect(prompt):
                return [t async for d in aeng.stream(prompt, GREEDY) for t in d.token_ids]

            async def abandon(prompt):
                async for _ in aeng.stream(prompt, SamplingParams(max_new_tokens=80, stop_token_ids=())):
                    break  # the client goes away: the request is cancelled

            results = await asyncio.gather(collect(PROMPTS[0]), abandon(PROMPTS[1]), collect(PROMPTS[2]))
            return results[0], results[2]

        a, b = asyncio.run(main())
        assert a == argmax_decode(model, PROMPTS[0], 12) and b == argmax_decode(model, PROMPTS[2], 12)
        assert [c.token_ids for c in aeng.generate(PROMPTS[:2], GREEDY)] == \
            [argmax_decode(model, p, 12) for p in PROMPTS[:2]]
    finally:
        aeng.close()
    assert aeng.engine.free_slots == 2


def failing_decode(engine, monkeypatch, times):
    """Make the engine's next `times` decode steps raise (a bug or an OOM mid-batch)."""
    real, left = engine.runner.decode, [times]

    def decode(*args, **kwargs):
        if left[0] > 0:
            left[0] -= 1
            raise RuntimeError("injected decode failure")
        return real(*args, **kwargs)

    monkeypatch.setattr(engine.runner, "decode", decode)


def test_failed_step_ends_every_waiting_stream_with_an_error_then_recovers(model, monkeypatch):
    engine = Engine(model, max_slots=2, max_len=96)
    failing_decode(engine, monkeypatch, times=1)
    aeng = AsyncEngine(engine)
    try:
        async def outcome(prompt):
            try:
                return [t async for d in aeng.stream(prompt, GREEDY) for t in d.token_ids]
            except EngineError as e:
                return e

        async def main():  # three requests on two slots: one is still queued when the step fails
            return await asyncio.wait_for(asyncio.gather(*(outcome(p) for p in PROMPTS[:3])), timeout=30)

        results = asyncio.run(main())
        assert all(isinstance(r, EngineError) and "injected decode failure" in str(r) for r in results)
        assert aeng.alive and engine.free_slots == 2 and not engine.has_unfinished()
        after = aeng.generate(PROMPTS[:2], GREEDY, timeout=30)  # the engine is usable again
        assert [c.token_ids for c in after] == [argmax_decode(model, p, 12) for p in PROMPTS[:2]]
    finally:
        aeng.close()


def test_generate_raises_engine_error_instead_of_hanging(model, monkeypatch):
    engine = Engine(model, max_slots=2, max_len=96)
    failing_decode(engine, monkeypatch, times=1)
    aeng = AsyncEngine(engine)
    try:
        with pytest.raises(EngineError, match="injected"):
            aeng.generate(PROMPTS[:2], GREEDY, timeout=30)
    finally:
        aeng.close()


def test_repeated_failures_stop_the_engine_for_good(model, monkeypatch):
    engine = Engine(model, max_slots=2, max_len=96)
    failing_decode(engine, monkeypatch, times=10**9)
    aeng = AsyncEngine(engine)
    for _ in range(MAX_FAILED_STEPS):
        with pytest.raises(EngineError):
            aeng.generate([PROMPTS[0]], GREEDY, timeout=30)
    aeng._thread.join(timeout=10)
    assert not aeng.alive
    with pytest.raises(EngineError, match="stopped"):
        aeng.submit(PROMPTS[0], GREEDY)
    aeng.close()  # harmless on a stopped engine


def test_close_finishes_requests_in_flight_as_cancelled(model):
    aeng = AsyncEngine(Engine(model, max_slots=1, max_len=96))
    finishes = []
    for prompt in PROMPTS[:3]:
        aeng.submit(prompt, SamplingParams(max_new_tokens=80, stop_token_ids=()),
                    lambda d: d.finish_reason and finishes.append(d.finish_reason))
    aeng.close()
    assert finishes == ["cancelled"] * 3 and not aeng.alive


def test_cache_holds_only_latents():
    cfg = tiny()
    pool = LatentCachePool(cfg, slots=2, max_len=8)
    assert latent_width(cfg) == cfg.kv_lora_rank + cfg.qk_rope_head_dim
    assert pool.bytes_per_token() == cfg.num_hidden_layers * latent_width(cfg) * 4
    assert mha_width(cfg) == 2 * cfg.num_attention_heads * (cfg.qk_nope_head_dim + cfg.qk_rope_head_dim)


def test_invalid_params_name_the_field(model):
    engine = Engine(model, max_slots=1, max_len=32)
    with pytest.raises(ValueError, match="top_p"):
        engine.add_request([1, 2], SamplingParams(top_p=0.0))
    vocab = model.config.vocab_size
    for field, params in [("top_k", SamplingParams(top_k=vocab + 1)), ("top_k", SamplingParams(top_k=2**63)),
                          ("temperature", SamplingParams(temperature=float("inf"))),
                          ("temperature", SamplingParams(temperature=float("nan")))]:
        with pytest.raises(SamplingError, match=f"SamplingParams.{field} must be") as caught:
            engine.add_request([1, 2], params)
        assert caught.value.field == field
    SamplingParams(top_k=vocab).validate(vocab)  # the whole vocabulary is a valid k
    with pytest.raises(ValueError, match="prompt"):
        engine.add_request([1] * 40)


def test_a_temperature_too_small_to_divide_by_is_greedy(model):
    tiny_temperature = SamplingParams(max_new_tokens=12, stop_token_ids=(), temperature=1e-30, seed=3)
    assert tiny_temperature.greedy and not SamplingParams(temperature=1e-4).greedy
    engine = Engine(model, max_slots=2, max_len=64)
    for prompt, c in zip(PROMPTS[:2], engine.generate(PROMPTS[:2], tiny_temperature)):
        assert c.token_ids == argmax_decode(model, prompt, 12)
