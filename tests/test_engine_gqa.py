"""The engine driving the R1-Distill architectures (LlamaTransformer: Llama, Qwen2) on its GQA
key/value cache: greedy tokens equal transformers' `generate` on tiny random checkpoints saved
with save_pretrained and loaded both ways, under continuous batching; slots freed by cancel and
abort; what the engine refuses for these models."""

from __future__ import annotations

import pytest
import torch
import transformers

import nanoseek
from nanoseek import LlamaConfig, LlamaTransformer
from nanoseek.inference import Engine, SamplingParams
from nanoseek.inference.engine import DEFAULT_MAX_LEN

transformers.logging.set_verbosity_error()

# No special tokens: transformers' generate would stop at an eos, ours are given no stop token.
SIZES = dict(vocab_size=96, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
             max_position_embeddings=256, bos_token_id=None, eos_token_id=None, pad_token_id=None)
# name -> (config class, settings beyond SIZES): GQA ratio 2 and 1 (plain multi-head).
CASES = {
    "llama-gqa2": (transformers.LlamaConfig, dict(num_key_value_heads=2)),
    "qwen2-mha-tied": (transformers.Qwen2Config, dict(num_key_value_heads=4, tie_word_embeddings=True)),
}
# Lengths 29 (prefilled in 4 chunks of 8), 3, 11, 5, 17; the 3-token prompt asks for 2 tokens
# only, so it finishes while the first still decodes and a later prompt takes its slot.
PROMPTS = [list(range(7, 36)), [5, 6, 7], [90, 1, 44, 2, 13, 60, 61, 62, 3, 3, 3], [8, 9, 10, 11, 12],
           [i * 5 % 96 for i in range(17)]]
NEW_TOKENS = [10, 2, 8, 6, 4]


def greedy(n: int) -> SamplingParams:
    return SamplingParams(max_new_tokens=n, stop_token_ids=())


def widened(model: torch.nn.Module) -> torch.nn.Module:
    """Wide random weights (norms near 1): at init scale every logit is ~0 and greedy picks near-ties."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.normal_(mean=1.0 if name.endswith("norm.weight") else 0.0, std=0.2)
    return model


@pytest.fixture(scope="module", params=CASES)
def models(request, tmp_path_factory):
    """(ours, transformers') for one tiny random checkpoint, each loaded from the saved directory."""
    config_cls, settings = CASES[request.param]
    torch.manual_seed(0)
    model = widened(transformers.AutoModelForCausalLM.from_config(config_cls(**(SIZES | settings))))
    path = tmp_path_factory.mktemp(request.param)
    model.save_pretrained(path)
    return nanoseek.from_pretrained(path), transformers.AutoModelForCausalLM.from_pretrained(path).eval()


def hf_greedy(theirs, prompt: list[int], n: int) -> list[int]:
    ids = torch.tensor([prompt])
    with torch.no_grad():
        out = theirs.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=n, do_sample=False)
    return out[0, len(prompt):].tolist()


def run(engine: Engine, prompts: list[list[int]], new_tokens: list[int]) -> tuple[list, list, list]:
    """Step the engine until every request is done -> per request: its tokens, the step of its
    first token, the step it finished at."""
    ids = [engine.add_request(p, greedy(n)) for p, n in zip(prompts, new_tokens)]
    tokens, first, last = {i: [] for i in ids}, {}, {}
    step = 0
    while engine.has_unfinished():
        for d in engine.step():
            tokens[d.request_id] += d.token_ids
            first.setdefault(d.request_id, step)
            if d.finish_reason is not None:
                last[d.request_id] = step
        step += 1
    return [tokens[i] for i in ids], [first[i] for i in ids], [last[i] for i in ids]


def test_continuous_batching_equals_transformers_generate(models):
    ours, theirs = models
    assert isinstance(ours, LlamaTransformer)
    engine = Engine(ours, max_slots=2, max_len=64, prefill_chunk=8)
    tokens, first, last = run(engine, PROMPTS, NEW_TOKENS)
    assert tokens == [hf_greedy(theirs, p, n) for p, n in zip(PROMPTS, NEW_TOKENS)]
    # Two slots for five requests: the 3-token one ends while the 29-token one decodes, and the
    # third request starts in its slot before the first ends.
    assert last[1] < first[2] < last[0]
    assert engine.free_slots == 2


def test_cancel_frees_the_slot(models):
    ours, theirs = models
    engine = Engine(ours, max_slots=1, max_len=64)
    seen = []
    cancelled = engine.add_request(PROMPTS[0], greedy(30), seen.append)
    waiting = engine.add_request(PROMPTS[3], greedy(6))
    engine.step()
    engine.step()
    assert engine.free_slots == 0
    assert engine.cancel(cancelled)
    assert seen[-1].finish_reason == "cancelled" and engine.free_slots == 1
    out = []
    while engine.has_unfinished():
        out += [t for d in engine.step() if d.request_id == waiting for t in d.token_ids]
    assert out == hf_greedy(theirs, PROMPTS[3], 6)


def test_abort_all_frees_every_slot(models):
    ours, theirs = models
    engine = Engine(ours, max_slots=2, max_len=64)
    for prompt in PROMPTS[:3]:
        engine.add_request(prompt, greedy(8))
    engine.step()
    assert engine.free_slots == 0
    assert engine.abort_all() == 3
    assert engine.free_slots == 2 and not engine.has_unfinished()
    assert engine.generate([PROMPTS[4]], greedy(4))[0].token_ids == hf_greedy(theirs, PROMPTS[4], 4)


def tiny_llama(**settings) -> LlamaTransformer:
    return LlamaTransformer(LlamaConfig(num_key_value_heads=2, **settings)).eval()


def test_compiled_engine_equals_eager():
    """Batch 1 (its own graph) and batch 3 (one dynamic graph), as for our model. One layer, as
    compiling is most of this file's time."""
    model = widened(tiny_llama(num_hidden_layers=1))
    eager = Engine(model, max_slots=3, max_len=64)
    compiled = Engine(model, max_slots=3, max_len=64, compile=True)
    for prompts in (PROMPTS[:1], PROMPTS[:3]):
        want = [c.token_ids for c in eager.generate(prompts, greedy(6))]
        assert [c.token_ids for c in compiled.generate(prompts, greedy(6))] == want


def test_speculative_is_refused_for_a_model_without_mtp():
    with pytest.raises(ValueError, match="speculative=True needs an MTP module; a llama model"):
        Engine(tiny_llama(), speculative=True)


def test_absorb_prefill_is_refused_for_plain_attention():
    with pytest.raises(ValueError, match="absorb_prefill=True applies to MLA only"):
        Engine(tiny_llama(), absorb_prefill=True)


def test_max_len_defaults_to_a_cap_not_llama_context():
    model = tiny_llama(max_position_embeddings=131072)
    engine = Engine(model, max_slots=2)
    assert engine.max_len == DEFAULT_MAX_LEN
    assert engine.pool.keys[0].shape == (2, DEFAULT_MAX_LEN + 1, 2, 16)  # [N, M, G, E]
    assert Engine(model, max_slots=1, max_len=8192).max_len == 8192  # asked for explicitly


def test_cache_holds_grouped_keys_and_values_in_the_model_dtype():
    model = tiny_llama().to(torch.bfloat16)  # 2 layers, 4 query heads of 16, 2 key/value heads
    engine = Engine(model, max_slots=2, max_len=16)
    assert {b.dtype for b in engine.pool.keys + engine.pool.values} == {torch.bfloat16}
    assert engine.cache_report() == {"kv_per_layer": 2 * 2 * 16, "mha_per_layer": 2 * 4 * 16, "ratio": 0.5,
                                     "bytes_per_token": 2 * (2 * 2 * 16) * 2}
    assert len(engine.generate([[1, 2, 3]], greedy(3))[0].token_ids) == 3


def test_requests_stop_at_the_checkpoints_eos_tokens_by_default(models):
    ours, _ = models
    free = Engine(ours, max_slots=1, max_len=64).generate([PROMPTS[0]], greedy(6))[0].token_ids
    stops = [ours.config.vocab_size - 1, free[2]]  # a list, as Llama 3's config.json has
    ours.config.eos_token_id = stops
    try:
        done = Engine(ours, max_slots=1, max_len=64).generate([PROMPTS[0]], SamplingParams(max_new_tokens=6))[0]
    finally:
        ours.config.eos_token_id = None
    first = min(i for i, t in enumerate(free) if t in stops)  # the first hit ends it, the stop token kept
    assert (done.token_ids, done.finish_reason) == (free[: first + 1], "stop")
