"""GGUF export for llama.cpp (arch deepseek2): exact metadata, tensor names/shapes/values, the
RoPE layout change, and (when llama-cpp-python is installed) llama.cpp's logits against ours."""

import json

import gguf
import numpy as np
import pytest
import torch

from nanoseek import Transformer
from nanoseek.cli import main
from nanoseek.config import preset
from nanoseek.interop.gguf import export_gguf, tensor_shapes
from nanoseek.tokenizer import CHAT_TEMPLATE, train_tokenizer

TEXTS = ["The quick brown fox jumps over the lazy dog 12345.", "<think>\nlet me think\n</think>\n\nok",
         "El zorro marrón salta. 你好，世界！"] * 8
YARN = {"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64, "beta_fast": 32, "beta_slow": 1,
        "mscale": 1.0, "mscale_all_dim": 1.0}


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(TEXTS, vocab_size=512)


def checkpoint(root, tokenizer, **overrides):
    torch.manual_seed(0)
    model = Transformer(preset("tiny").replace(**overrides)).eval()
    with torch.no_grad():  # a non-trivial router bias, to see it travel
        for moe in model.moe_layers():
            moe.gate.e_score_correction_bias.copy_(torch.linspace(-0.1, 0.1, model.config.n_routed_experts))
    model.save_pretrained(root)
    tokenizer.save(root)
    return model


@pytest.fixture(scope="module")
def exported(tmp_path_factory, tokenizer):
    root = tmp_path_factory.mktemp("ckpt")
    model = checkpoint(root, tokenizer)
    return model, gguf.GGUFReader(export_gguf(root, root / "model.gguf", dtype="f32"))


def field(reader, key):
    return reader.fields[key].contents()


def tensors(reader) -> dict[str, np.ndarray]:
    return {t.name: np.array(t.data) for t in reader.tensors}  # copies: the reader maps the file read-only


def test_metadata_is_what_llama_cpp_deepseek2_reads(exported):
    _, r = exported
    expected = {
        "general.architecture": "deepseek2",
        "general.file_type": int(gguf.LlamaFileType.ALL_F32),
        "deepseek2.block_count": 2,  # the MTP layer is not exported
        "deepseek2.context_length": 256,
        "deepseek2.embedding_length": 64,
        "deepseek2.feed_forward_length": 128,
        "deepseek2.vocab_size": 512,
        "deepseek2.attention.head_count": 4,
        "deepseek2.attention.head_count_kv": 1,
        "deepseek2.attention.q_lora_rank": 32,
        "deepseek2.attention.kv_lora_rank": 32,
        "deepseek2.attention.key_length": 32 + 8,
        "deepseek2.attention.value_length": 32,
        "deepseek2.attention.key_length_mla": 16 + 8,
        "deepseek2.attention.value_length_mla": 16,
        "deepseek2.rope.dimension_count": 8,
        "deepseek2.rope.freq_base": 10000.0,
        "deepseek2.leading_dense_block_count": 1,
        "deepseek2.expert_feed_forward_length": 32,
        "deepseek2.expert_count": 8,
        "deepseek2.expert_used_count": 2,
        "deepseek2.expert_shared_count": 1,
        "deepseek2.expert_group_count": 2,
        "deepseek2.expert_group_used_count": 1,
        "deepseek2.expert_weights_scale": 2.5,
        "deepseek2.expert_weights_norm": True,
        "deepseek2.expert_gating_func": int(gguf.ExpertGatingFuncType.SIGMOID),
    }
    assert {k: field(r, k) for k in expected} == expected
    assert field(r, "deepseek2.attention.layer_norm_rms_epsilon") == pytest.approx(1e-6)
    assert not any(k.startswith("deepseek2.rope.scaling") for k in r.fields)
    assert "deepseek2.nextn_predict_layers" not in r.fields


def test_tokenizer_metadata(exported, tokenizer):
    _, r = exported
    assert field(r, "tokenizer.ggml.model") == "gpt2"
    assert field(r, "tokenizer.ggml.pre") == "smollm"
    tokens, types = field(r, "tokenizer.ggml.tokens"), field(r, "tokenizer.ggml.token_type")
    assert len(tokens) == len(types) == 512
    vocab = tokenizer.backend.get_vocab(with_added_tokens=True)
    assert all(tokens[i] == t for t, i in vocab.items())
    assert tokens[511] == "[PAD511]" and types[511] == gguf.TokenType.UNUSED
    assert [types[tokenizer.bos_id], types[tokenizer.eos_id], types[tokenizer.user_id]] == [gguf.TokenType.CONTROL] * 3
    assert types[tokenizer.think_id] == types[tokenizer.end_think_id] == gguf.TokenType.USER_DEFINED
    assert types[vocab["Ġfox"]] == gguf.TokenType.NORMAL
    merges = json.loads(tokenizer.backend.to_str())["model"]["merges"]
    assert field(r, "tokenizer.ggml.merges") == [" ".join(m) if isinstance(m, list) else m for m in merges]
    assert (field(r, "tokenizer.ggml.bos_token_id"), field(r, "tokenizer.ggml.eos_token_id"),
            field(r, "tokenizer.ggml.padding_token_id")) == (tokenizer.bos_id, tokenizer.eos_id, tokenizer.pad_id)
    assert field(r, "tokenizer.ggml.add_bos_token") is False
    assert field(r, "tokenizer.chat_template") == CHAT_TEMPLATE


def test_tensor_names_and_shapes(exported):
    model, r = exported
    cfg = model.config
    # GGUF lists dimensions innermost first: llama.cpp's {in, out} is our [out, in].
    got = {t.name: tuple(int(n) for n in reversed(t.shape)) for t in r.tensors}
    assert got == tensor_shapes(cfg)
    known = {gguf.TENSOR_NAMES[t] for t in gguf.MODEL_TENSORS[gguf.MODEL_ARCH.DEEPSEEK2]}
    assert {n.rsplit(".", 1)[0].replace("blk.0.", "blk.{bid}.").replace("blk.1.", "blk.{bid}.") for n in got} <= known
    assert got["blk.1.ffn_gate_exps.weight"] == (8, 32, 64)
    assert got["blk.1.ffn_down_exps.weight"] == (8, 64, 32)
    assert got["blk.0.attn_k_b.weight"] == (4, 32, 16) and got["blk.0.attn_v_b.weight"] == (4, 16, 32)
    assert "blk.0.attn_kv_b.weight" not in got and not any(n.startswith("blk.2.") for n in got)
    assert all(t.tensor_type == gguf.GGMLQuantizationType.F32 for t in r.tensors)


def test_tensor_values_round_trip(exported):
    model, r = exported
    t = tensors(r)
    sd = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    np.testing.assert_array_equal(t["token_embd.weight"], sd["embed_tokens.weight"])
    np.testing.assert_array_equal(t["output.weight"], sd["lm_head.weight"])
    np.testing.assert_array_equal(t["blk.1.exp_probs_b.bias"], sd["layers.1.mlp.gate.e_score_correction_bias"])
    np.testing.assert_array_equal(t["blk.1.ffn_gate_inp.weight"], sd["layers.1.mlp.gate.weight"])
    gate_up = sd["layers.1.mlp.experts.gate_up_proj"]  # [E, 2F, D]: gate rows, then up rows
    np.testing.assert_array_equal(t["blk.1.ffn_gate_exps.weight"], gate_up[:, :32])
    np.testing.assert_array_equal(t["blk.1.ffn_up_exps.weight"], gate_up[:, 32:])
    kv_b = sd["layers.0.self_attn.kv_b_proj.weight"].reshape(4, 16 + 16, 32)  # [H, N+V, C]
    np.testing.assert_array_equal(t["blk.0.attn_k_b.weight"], kv_b[:, :16].transpose(0, 2, 1))
    np.testing.assert_array_equal(t["blk.0.attn_v_b.weight"], kv_b[:, 16:])
    # rope_interleave=True (the default): the rotary rows go unchanged
    np.testing.assert_array_equal(t["blk.0.attn_kv_a_mqa.weight"], sd["layers.0.self_attn.kv_a_proj_with_mqa.weight"])


def test_f16_keeps_norms_biases_and_router_in_f32(tmp_path, tokenizer):
    checkpoint(tmp_path, tokenizer)
    r = gguf.GGUFReader(export_gguf(tmp_path, tmp_path / "m.gguf", dtype="f16"))
    types = {t.name: t.tensor_type for t in r.tensors}
    f32 = {n for n, ty in types.items() if ty == gguf.GGMLQuantizationType.F32}
    assert f32 == {n for n in types if n.endswith(("_norm.weight", ".bias", "ffn_gate_inp.weight"))}
    assert types["blk.1.ffn_up_exps.weight"] == gguf.GGMLQuantizationType.F16
    assert field(r, "general.file_type") == int(gguf.LlamaFileType.MOSTLY_F16)


def test_halves_rope_is_permuted_to_pairs(tmp_path, tokenizer):
    """rope_interleave=False weights, permuted to pairs and run with rope_interleave=True, give
    the same logits: what llama.cpp (which rotates pairs) will compute."""
    model = checkpoint(tmp_path, tokenizer, rope_interleave=False, initializer_range=0.1)  # wide: RoPE matters
    t = tensors(gguf.GGUFReader(export_gguf(tmp_path, tmp_path / "m.gguf", dtype="f32")))
    paired = Transformer(model.config.replace(rope_interleave=True)).eval()
    paired.load_state_dict(model.state_dict())
    with torch.no_grad():
        for i, layer in enumerate(paired.layers):
            layer.self_attn.q_b_proj.weight.copy_(torch.from_numpy(t[f"blk.{i}.attn_q_b.weight"]))
            layer.self_attn.kv_a_proj_with_mqa.weight.copy_(torch.from_numpy(t[f"blk.{i}.attn_kv_a_mqa.weight"]))
        ids = torch.tensor([[5, 9, 17, 33, 65, 129, 257, 300]])
        torch.testing.assert_close(paired(ids), model(ids), rtol=1e-5, atol=1e-5)
        paired.load_state_dict(model.state_dict())  # unpermuted, the same logits are far off
        assert (paired(ids) - model(ids)).abs().max() > 0.1


def test_plain_q_proj_writes_attn_q_and_q_lora_rank_0(tmp_path, tokenizer):
    checkpoint(tmp_path, tokenizer, q_lora_rank=None)
    r = gguf.GGUFReader(export_gguf(tmp_path, tmp_path / "m.gguf", dtype="f32"))
    assert field(r, "deepseek2.attention.q_lora_rank") == 0  # llama.cpp requires the key
    names = {t.name for t in r.tensors}
    assert "blk.0.attn_q.weight" in names and "blk.0.attn_q_a.weight" not in names


def test_group_keys_left_out_when_every_group_is_kept(tmp_path, tokenizer):
    checkpoint(tmp_path, tokenizer, n_group=2, topk_group=2)  # the speedrun preset's routing
    r = gguf.GGUFReader(export_gguf(tmp_path, tmp_path / "m.gguf", dtype="f32"))
    assert "deepseek2.expert_group_count" not in r.fields
    assert "deepseek2.expert_group_used_count" not in r.fields


def test_yarn_keys(tmp_path, tokenizer):
    checkpoint(tmp_path, tokenizer, rope_scaling=YARN)
    r = gguf.GGUFReader(export_gguf(tmp_path, tmp_path / "m.gguf", dtype="f32"))
    assert field(r, "deepseek2.rope.scaling.type") == "yarn"
    assert field(r, "deepseek2.rope.scaling.factor") == 4.0
    assert field(r, "deepseek2.rope.scaling.original_context_length") == 64
    assert (field(r, "deepseek2.rope.scaling.yarn_beta_fast"), field(r, "deepseek2.rope.scaling.yarn_beta_slow")) == (32, 1)
    assert field(r, "deepseek2.rope.scaling.yarn_log_multiplier") == pytest.approx(0.1)


def test_cli_export_and_bad_input(tmp_path, tokenizer, capsys):
    checkpoint(tmp_path / "ckpt", tokenizer)
    out = tmp_path / "out" / "m.gguf"
    assert main(["export", "--model", str(tmp_path / "ckpt"), "--format", "gguf", "--out", str(out)]) == 0
    assert gguf.GGUFReader(out).fields["general.file_type"].contents() == int(gguf.LlamaFileType.MOSTLY_F16)
    capsys.readouterr()
    assert main(["export", "--model", str(tmp_path / "nope"), "--format", "gguf", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no config.json" in err
    (tmp_path / "ckpt" / "tokenizer.json").unlink()
    assert main(["export", "--model", str(tmp_path / "ckpt"), "--format", "gguf", "--out", str(tmp_path / "x.gguf")]) == 2
    assert "tokenizer.json" in capsys.readouterr().err and not (tmp_path / "x.gguf").exists()


@pytest.mark.parametrize("overrides", [{}, {"rope_interleave": False}, {"q_lora_rank": None}, {"rope_scaling": YARN},
                                       {"n_group": 2, "topk_group": 2}],
                         ids=["default", "halves-rope", "plain-q", "yarn", "all-groups-kept"])
def test_llama_cpp_logits_match(tmp_path, tokenizer, overrides):
    """llama.cpp itself on the file (optional: needs llama-cpp-python): same tokens, same logits."""
    llama_cpp = pytest.importorskip("llama_cpp")
    model = checkpoint(tmp_path, tokenizer, initializer_range=0.1, **overrides)  # wide: logits far from zero
    path = export_gguf(tmp_path, tmp_path / "m.gguf", dtype="f32")
    # f32 cache: llama.cpp's default f16 cache would blur the comparison
    llm = llama_cpp.Llama(str(path), n_ctx=64, n_threads=1, logits_all=True, type_k=0, type_v=0, verbose=False)
    for text in TEXTS[:3]:
        assert llm.tokenize(text.encode(), add_bos=False, special=True) == tokenizer.encode(text)
    ids = tokenizer.encode("<｜begin▁of▁sentence｜>The quick brown fox 123")
    llm.eval(ids)
    theirs = torch.tensor(np.array(llm.scores[: len(ids)]), dtype=torch.float32)
    with torch.no_grad():
        ours = model(torch.tensor([ids]))[0]
    torch.testing.assert_close(theirs, ours, rtol=1e-4, atol=1e-4)  # measured: ~3e-6 apart
