"""Int8 weights (inference/quantize.py): the layer's numerics against the weight it stands
for, which layers are replaced, greedy decoding against the unquantized model (our DeepSeek-V3
Transformer with MLA's absorbed decode, and a Qwen2 LlamaTransformer; eager and compiled), and
the bytes reported.

Greedy agreement needs a model whose top logits are apart: on a random one the two best logits
are nearly tied and any rounding flips some of them, for fp32 and bf16 alike. So each model first
learns a fixed successor for every token (a cycle through the whole vocabulary), and greedy
decoding then follows that cycle: 256 steps through 256 different tokens."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nanoseek import LlamaConfig, LlamaTransformer, Transformer
from nanoseek.config import preset
from nanoseek.inference import Engine, SamplingParams
from nanoseek.inference import quantize
from nanoseek.inference.compile import packed_bytes
from nanoseek.inference.quantize import QuantizedLinear, quantize_int8, quantize_rows, weight_report

STEPS = 256
VOCAB = 512


def llama(tie: bool = False) -> LlamaTransformer:
    torch.manual_seed(0)
    return LlamaTransformer(LlamaConfig(model_type="qwen2", vocab_size=VOCAB, hidden_size=64, intermediate_size=128,
                                        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                        max_position_embeddings=512, tie_word_embeddings=tie))


def deepseek() -> Transformer:
    torch.manual_seed(0)
    return Transformer(preset("tiny").replace(vocab_size=VOCAB, max_position_embeddings=512))


def successors() -> torch.Tensor:
    """successor[t]: the token that follows t, one cycle through the whole vocabulary."""
    order = torch.randperm(VOCAB, generator=torch.Generator().manual_seed(1))
    nxt = torch.empty(VOCAB, dtype=torch.long)
    nxt[order] = order.roll(-1)
    return nxt


def successors_from(token: int, nxt: torch.Tensor) -> list[int]:
    out = []
    for _ in range(STEPS):
        token = int(nxt[token])
        out.append(token)
    return out


def learn_successors(model: nn.Module, nxt: torch.Tensor, steps: int = 60) -> nn.Module:
    generator = torch.Generator().manual_seed(2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)
    model.train()
    for _ in range(steps):
        x = torch.empty(16, 64, dtype=torch.long)
        x[:, 0] = torch.randint(0, VOCAB, (16,), generator=generator)
        for i in range(1, x.shape[1]):
            x[:, i] = nxt[x[:, i - 1]]
        logits = model(x[:, :-1])
        loss = F.cross_entropy(logits.flatten(0, 1), x[:, 1:].flatten())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


@pytest.fixture(scope="module")
def trained():
    nxt = successors()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: one thread is fastest
    try:
        return {"deepseek": learn_successors(deepseek(), nxt), "qwen2": learn_successors(llama(), nxt)}, nxt
    finally:
        torch.set_num_threads(threads)


def greedy(model: nn.Module, prompt: list[int], **engine_kwargs) -> list[int]:
    params = SamplingParams(max_new_tokens=STEPS, temperature=0.0, stop_token_ids=())
    return Engine(model, max_slots=2, **engine_kwargs).generate([prompt], params)[0].token_ids


# ---- the layer ----------------------------------------------------------------------------------


def _layer() -> tuple[nn.Linear, QuantizedLinear]:
    torch.manual_seed(0)
    linear = nn.Linear(96, 40, bias=True)
    return linear, QuantizedLinear.from_linear(linear)


def test_the_int8_weight_is_the_nearest_multiple_of_its_rows_scale():
    linear, q = _layer()
    assert ((q.dequantized() - linear.weight).abs() <= q.scale[:, None] / 2 + 1e-7).all()
    assert q.qweight.dtype == torch.int8 and q.qweight.abs().max() == 127


@pytest.mark.parametrize("rows", [1, 5, 64])
def test_an_exact_int8_gemm_on_per_row_quantized_activations(rows):
    linear, q = _layer()
    x = torch.randn(rows, 96) * torch.linspace(0.1, 10, rows)[:, None]  # rows of different scales
    xq, row_scale = quantize_rows(x)
    assert xq.dtype == torch.int8 and (xq.abs().amax(dim=1) == 127).all()
    assert ((row_scale * xq.float() - x).abs() <= row_scale / 2 + 1e-6).all()  # nearest multiple
    out = q(x)
    # the integer products summed exactly (every partial sum is an integer below 2^24, so the
    # float64 reference is exact too), then scaled by the row's and the channel's scales
    exact = (xq.double() @ q.qweight.double().T) * row_scale.double() * q.scale.double() + linear.bias.double()
    assert torch.allclose(out.double(), exact, rtol=1e-6, atol=1e-6)
    # against the float product: each activation errs by at most half its row's scale
    reference = F.linear(x, q.dequantized(), linear.bias)
    bound = row_scale / 2 * q.dequantized().abs().sum(dim=1) + 1e-4 * reference.abs() + 1e-5
    assert out.shape == (rows, 40) and ((out - reference).abs() <= bound).all()


@pytest.mark.skipif(not quantize.ONEDNN_INT8, reason="this torch has no oneDNN")
def test_more_rows_than_a_matvec_take_onednn_with_int_mms_bits(monkeypatch):
    _, q = _layer()
    x = torch.randn(9, 96)
    assert packed_bytes(q.qweight) == 0  # packed on first use
    packed = q(x)
    assert packed_bytes(q.qweight) == 40 * 96  # weight_report counts it
    monkeypatch.setattr(quantize, "ONEDNN_INT8", False)
    assert torch.equal(q(x), packed)


def test_the_output_keeps_the_inputs_dtype():
    _, q = _layer()
    x = torch.randn(3, 96)
    assert q(x.bfloat16()).dtype == torch.bfloat16 and q(x).dtype == torch.float32


def test_quantize_replaces_the_linear_layers_and_keeps_the_rest():
    model = quantize_int8(deepseek())
    attn, moe = model.layers[-1].self_attn, model.layers[-1].mlp
    assert type(attn.kv_b_proj) is nn.Linear  # absorbed decode reads its weight directly
    for module in (attn.q_a_proj, attn.q_b_proj, attn.kv_a_proj_with_mqa, attn.o_proj, moe.shared_experts.up_proj,
                   model.lm_head, model.mtp[0].eh_proj):
        assert isinstance(module, QuantizedLinear)
    assert moe.gate.weight.dtype == torch.float32 and moe.experts.gate_up_proj.dtype == torch.float32
    assert model.embed_tokens.weight.dtype == torch.float32
    linears = [m for m in model.modules() if type(m) is nn.Linear]
    assert linears == [layer.self_attn.kv_b_proj for layer in [*model.layers, *(m.block for m in model.mtp)]]


def test_a_head_tied_to_the_embedding_stays():
    model = quantize_int8(Transformer(preset("tiny").replace(vocab_size=VOCAB, tie_word_embeddings=True)))
    assert type(model.lm_head) is nn.Linear and model.lm_head.weight is model.embed_tokens.weight
    assert isinstance(model.layers[0].mlp.up_proj, QuantizedLinear)


def test_engine_refuses_an_unknown_mode():
    with pytest.raises(ValueError, match=r"quantize must be one of \('int8',\) or None, got 'int4'"):
        Engine(llama(), quantize="int4")


# ---- decoding -----------------------------------------------------------------------------------


@pytest.mark.parametrize("arch", ["deepseek", "qwen2"])
def test_int8_greedy_tokens_equal_the_unquantized_models(trained, arch):
    models, nxt = trained
    model = models[arch]
    prompt = [7]
    expected = greedy(model, prompt)
    assert expected == successors_from(prompt[-1], nxt)  # it follows its cycle: no two steps alike
    tokens = greedy(copy.deepcopy(model), prompt, quantize="int8")
    assert sum(a == b for a, b in zip(tokens, expected, strict=True)) >= 0.95 * STEPS


@pytest.mark.parametrize("arch", ["deepseek", "qwen2"])
def test_int8_greedy_tokens_compiled_equal_eager(trained, arch):
    models, _ = trained
    quantized = quantize_int8(copy.deepcopy(models[arch]))
    eager = greedy(quantized, [7])
    assert greedy(quantized, [7], compile=True) == eager


# ---- what the weights weigh ---------------------------------------------------------------------


def test_weight_report_counts_bytes_held_and_read_per_token():
    model = llama()
    d, v = model.config.hidden_size, VOCAB
    before = weight_report(model)
    linears = [(m.out_features, m.in_features) for m in model.modules() if isinstance(m, nn.Linear)]
    # everything is read once per token, except all but one row of the embedding
    assert before["bytes_per_token"] == before["weight_bytes"] - (v - 1) * d * 4
    after = weight_report(quantize_int8(model))
    # each fp32 weight [N, K] became int8 [N, K] plus an fp32 scale per row
    assert before["weight_bytes"] - after["weight_bytes"] == sum(3 * n * k - 4 * n for n, k in linears)
    assert before["bytes_per_token"] - after["bytes_per_token"] == sum(3 * n * k - 4 * n for n, k in linears)
    if quantize.ONEDNN_INT8:  # a forward of several rows packs each int8 weight once more: held, not read
        model(torch.zeros(1, 3, dtype=torch.long))
        batched = weight_report(model)
        assert batched["weight_bytes"] - after["weight_bytes"] == sum(n * k for n, k in linears)
        assert batched["bytes_per_token"] == after["bytes_per_token"]


def test_weight_report_of_deepseek_reads_the_chosen_experts_and_no_mtp():
    model = deepseek()
    cfg = model.config
    report = weight_report(model)
    size = lambda tensors: sum(t.numel() * t.element_size() for t in tensors)  # noqa: E731
    moe = [layer.mlp for layer in model.layers if layer.is_moe]  # (the MTP block's experts are in `mtp`)
    experts = size(t for m in moe for t in (m.experts.gate_up_proj, m.experts.down_proj))
    mtp = size([*model.mtp.parameters(), *model.mtp.buffers()])
    unread = (VOCAB - 1) * cfg.hidden_size * 4 + experts * (1 - cfg.num_experts_per_tok / cfg.n_routed_experts)
    assert report["bytes_per_token"] == int(report["weight_bytes"] - mtp - unread)


def test_a_tied_head_is_read_whole():
    model = llama(tie=True)
    report = weight_report(model)
    assert report["bytes_per_token"] == report["weight_bytes"]


@pytest.mark.parametrize("command", ["chat", "serve"])
def test_cli_refuses_an_unknown_mode_before_loading(command, tmp_path, capsys):
    from nanoseek.cli import EXIT_USAGE, main

    assert main([command, "--model", str(tmp_path / "absent"), "--quantize", "int4"]) == EXIT_USAGE
    assert capsys.readouterr().err == (f"nanoseek {command}: error: quantize must be one of ('int8',) or None, "
                                       "got 'int4'\n")
