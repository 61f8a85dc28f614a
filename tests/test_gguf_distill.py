"""GGUF export of the R1-Distill architectures (llama.cpp's qwen2 and llama) from tiny random
checkpoints that transformers saves: exact metadata, tokenizer, tensor names, shapes and values
(Llama's q/k rows reordered for llama.cpp's RoPE, undone here), refusals, the CLI, and (when
llama-cpp-python is installed) llama.cpp's tokens and logits against transformers'."""

import json
import math

import gguf
import numpy as np
import pytest
import torch
import transformers
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

from nanoseek.cli import main
from nanoseek.interop.gguf import LLAMA3_SPLIT, QWEN2_SPLIT, export_gguf

transformers.logging.set_verbosity_error()

SIZES = dict(vocab_size=320, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
             max_position_embeddings=256, rms_norm_eps=1e-5)
# Llama 3.1's scaling, its original context short enough that an 8-wide head's 4 frequencies
# fall in all three of its bands (kept, blended, slowed down).
LLAMA3 = {"rope_type": "llama3", "rope_theta": 10000.0, "factor": 8.0, "low_freq_factor": 1.0,
          "high_freq_factor": 4.0, "original_max_position_embeddings": 128}
# name -> (transformers model, config settings beyond SIZES)
CASES = {
    "qwen2": (transformers.Qwen2ForCausalLM,
              dict(num_key_value_heads=2, rope_parameters={"rope_type": "default", "rope_theta": 1e6})),
    "qwen2-tied": (transformers.Qwen2ForCausalLM, dict(num_key_value_heads=4, tie_word_embeddings=True)),
    "llama-llama3-bias": (transformers.LlamaForCausalLM,
                          dict(num_key_value_heads=2, rope_parameters=LLAMA3, attention_bias=True)),
    "llama-tied-head_dim16": (transformers.LlamaForCausalLM,
                              dict(num_key_value_heads=1, head_dim=16, tie_word_embeddings=True)),
}
BOS, EOS, USER, ASSISTANT = "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>"
TEXTS = ["The quick brown fox jumps over the lazy dog 12345.", "It's what we'd've said: 3.14159, y'all.",
         "<think>\nlet me think\n</think>\n\nok", "El zorro marrón salta. 你好，世界！"] * 8
TEMPLATE = "{% for m in messages %}{{ m['content'] }}{% endfor %}"


def tokenizer(model_type: str) -> Tokenizer:
    """A byte-level BPE with R1-Distill's pre-tokenizer for `model_type` (Qwen2's or Llama 3's split),
    its special tokens, and <think> / </think> as added tokens that are not special."""
    tok = Tokenizer(models.BPE(ignore_merges=model_type == "llama"))  # as Llama 3's tokenizer.json
    split = QWEN2_SPLIT if model_type == "qwen2" else LLAMA3_SPLIT
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(split), behavior="isolated"),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(TEXTS, trainer)
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in (EOS, BOS, USER, ASSISTANT)])
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in ("<think>", "</think>")])
    return tok


def checkpoint(root, name: str, wide: bool = False) -> transformers.PreTrainedModel:
    """Save case `name` with its tokenizer to `root`. `wide`: weights of std 0.2 and norms near 1,
    so logits are far from zero and a wrong bias or rotation shows."""
    model_cls, settings = CASES[name]
    torch.manual_seed(0)
    config_cls = transformers.Qwen2Config if model_cls is transformers.Qwen2ForCausalLM else transformers.LlamaConfig
    model = model_cls(config_cls(**(SIZES | settings))).eval()
    if wide:
        with torch.no_grad():
            for param_name, p in model.named_parameters():
                p.normal_(mean=1.0 if param_name.endswith("norm.weight") else 0.0, std=0.2)
    model.save_pretrained(root)
    tok = tokenizer(model.config.model_type)
    tok.save(str(root / "tokenizer.json"))
    tok_cfg = {"bos_token": BOS, "eos_token": EOS, "add_bos_token": True, "add_eos_token": False,
               "chat_template": TEMPLATE}
    (root / "tokenizer_config.json").write_text(json.dumps(tok_cfg))
    return model


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """name -> (transformers model, tokenizer, GGUFReader of its f32 export)."""
    out = {}
    for name in CASES:
        root = tmp_path_factory.mktemp(name)
        model = checkpoint(root, name, wide=True)  # wide: no zero biases, which any reordering keeps
        out[name] = model, Tokenizer.from_file(str(root / "tokenizer.json")), \
            gguf.GGUFReader(export_gguf(root, root / "m.gguf", dtype="f32"))
    return out


def field(reader, key):
    return reader.fields[key].contents()


def tensors(reader) -> dict[str, np.ndarray]:
    return {t.name: np.array(t.data) for t in reader.tensors}  # copies: the reader maps the file read-only


def unpermute(w: np.ndarray, heads: int) -> np.ndarray:
    """Undo convert_hf_to_gguf.py's LlamaModel.permute: rows of each head from adjacent pairs back to halves."""
    return w.reshape(heads, w.shape[0] // heads // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


# ---- metadata -------------------------------------------------------------------------------


@pytest.mark.parametrize("name, arch, kv_heads, head_dim, theta", [
    ("qwen2", "qwen2", 2, 8, 1e6), ("qwen2-tied", "qwen2", 4, 8, 10000.0),
    ("llama-llama3-bias", "llama", 2, 8, 10000.0), ("llama-tied-head_dim16", "llama", 1, 16, 10000.0),
])
def test_hparams_are_what_llama_cpp_reads(exported, name, arch, kv_heads, head_dim, theta):
    r = exported[name][2]
    expected = {
        "general.architecture": arch,
        "general.file_type": int(gguf.LlamaFileType.ALL_F32),
        f"{arch}.block_count": 2,
        f"{arch}.context_length": 256,
        f"{arch}.embedding_length": 32,
        f"{arch}.feed_forward_length": 64,
        f"{arch}.vocab_size": 320,
        f"{arch}.attention.head_count": 4,
        f"{arch}.attention.head_count_kv": kv_heads,
        f"{arch}.attention.key_length": head_dim,
        f"{arch}.attention.value_length": head_dim,
        f"{arch}.rope.dimension_count": head_dim,
        f"{arch}.rope.freq_base": theta,
    }
    assert {k: field(r, k) for k in expected} == expected
    assert field(r, f"{arch}.attention.layer_norm_rms_epsilon") == pytest.approx(1e-5)
    assert {k for k in r.fields if k.startswith(f"{arch}.")} == \
        {k for k in expected if k.startswith(f"{arch}.")} | {f"{arch}.attention.layer_norm_rms_epsilon"}


@pytest.mark.parametrize("name, pre", [("qwen2", "deepseek-r1-qwen"), ("llama-llama3-bias", "llama-bpe")])
def test_tokenizer_metadata(exported, name, pre):
    _, tok, r = exported[name]
    assert (field(r, "tokenizer.ggml.model"), field(r, "tokenizer.ggml.pre")) == ("gpt2", pre)
    tokens, types = field(r, "tokenizer.ggml.tokens"), field(r, "tokenizer.ggml.token_type")
    vocab = tok.get_vocab(with_added_tokens=True)
    assert len(tokens) == len(types) == 320 and len(vocab) == 306
    assert [tokens[i] for i in range(306)] == sorted(vocab, key=vocab.get)
    assert tokens[306:] == [f"[PAD{i}]" for i in range(306, 320)] and set(types[306:]) == {gguf.TokenType.UNUSED}
    assert [types[vocab[t]] for t in (BOS, EOS, USER, ASSISTANT)] == [gguf.TokenType.CONTROL] * 4
    assert [types[vocab[t]] for t in ("<think>", "</think>")] == [gguf.TokenType.USER_DEFINED] * 2
    assert set(types[:300]) == {gguf.TokenType.NORMAL}  # the trained vocabulary; added tokens follow it
    merges = json.loads(tok.to_str())["model"]["merges"]
    assert field(r, "tokenizer.ggml.merges") == [" ".join(m) for m in merges] and len(merges) > 10
    assert [field(r, f"tokenizer.ggml.{k}_token_id") for k in ("bos", "eos")] == [vocab[BOS], vocab[EOS]]
    assert "tokenizer.ggml.padding_token_id" not in r.fields
    assert (field(r, "tokenizer.ggml.add_bos_token"), field(r, "tokenizer.ggml.add_eos_token")) == (True, False)
    assert field(r, "tokenizer.chat_template") == TEMPLATE


# ---- tensors --------------------------------------------------------------------------------


def gguf_shapes(reader) -> dict[str, tuple[int, ...]]:
    # GGUF lists dimensions innermost first: llama.cpp's {in, out} is transformers' [out, in].
    return {t.name: tuple(int(n) for n in reversed(t.shape)) for t in reader.tensors}


def generic(names) -> set[str]:
    """Tensor names without their suffix, block numbers as gguf-py writes them: blk.{bid}.attn_q."""
    return {n.rsplit(".", 1)[0].replace("blk.0.", "blk.{bid}.").replace("blk.1.", "blk.{bid}.") for n in names}


def known_to_gguf(arch) -> set[str]:
    """The tensor names gguf-py (llama.cpp's own Python package) lists for `arch`."""
    return {gguf.TENSOR_NAMES[t] for t in gguf.MODEL_TENSORS[arch]}


def test_qwen2_tensor_names_and_shapes(exported):
    blk = {"attn_norm.weight": (32,), "attn_q.weight": (32, 32), "attn_q.bias": (32,), "attn_k.weight": (16, 32),
           "attn_k.bias": (16,), "attn_v.weight": (16, 32), "attn_v.bias": (16,), "attn_output.weight": (32, 32),
           "ffn_norm.weight": (32,), "ffn_gate.weight": (64, 32), "ffn_up.weight": (64, 32),
           "ffn_down.weight": (32, 64)}
    expected = {"token_embd.weight": (320, 32), "output_norm.weight": (32,), "output.weight": (320, 32)}
    expected |= {f"blk.{i}.{k}": v for i in range(2) for k, v in blk.items()}
    assert gguf_shapes(exported["qwen2"][2]) == expected
    assert generic(expected) <= known_to_gguf(gguf.MODEL_ARCH.QWEN2)


def test_llama_tensor_names_and_shapes(exported):
    got = gguf_shapes(exported["llama-llama3-bias"][2])
    assert got["rope_freqs.weight"] == (4,)  # head_dim / 2
    assert (got["blk.1.attn_k.bias"], got["blk.1.attn_output.bias"]) == ((16,), (32,))
    assert len(got) == 3 + 1 + 2 * 13  # embedding, norm, head, rope_freqs; 13 per block
    tied = gguf_shapes(exported["llama-tied-head_dim16"][2])
    assert (tied["blk.0.attn_q.weight"], tied["blk.0.attn_k.weight"], tied["blk.0.attn_output.weight"]) == \
        ((64, 32), (16, 32), (32, 64))  # 4 heads * 16 = 64 != hidden_size
    assert "output.weight" not in tied and "rope_freqs.weight" not in tied
    assert not any(n.endswith(".bias") for n in tied)
    assert generic(got) <= known_to_gguf(gguf.MODEL_ARCH.LLAMA)


def source_of(gguf_name: str) -> str:
    """The transformers key a GGUF tensor comes from (this file's own table, written by hand)."""
    fixed = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
             "output.weight": "lm_head.weight"}
    if gguf_name in fixed:
        return fixed[gguf_name]
    _, i, part, kind = gguf_name.split(".")
    parts = {"attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm", "attn_q": "self_attn.q_proj",
             "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj",
             "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"}
    return f"model.layers.{i}.{parts[part]}.{kind}"


@pytest.mark.parametrize("name", ["qwen2", "qwen2-tied"])
def test_qwen2_values_are_the_weights_as_they_are(exported, name):
    model, _, r = exported[name]
    sd = {k: v.numpy() for k, v in model.state_dict().items()}
    t = tensors(r)
    for gguf_name, values in t.items():
        np.testing.assert_array_equal(values, sd[source_of(gguf_name)], err_msg=gguf_name)


@pytest.mark.parametrize("name", ["llama-llama3-bias", "llama-tied-head_dim16"])
def test_llama_q_and_k_rows_are_permuted_for_pair_rope(exported, name):
    model, _, r = exported[name]
    cfg = model.config
    sd = {k: v.numpy() for k, v in model.state_dict().items()}
    t = tensors(r)
    t.pop("rope_freqs.weight", None)
    for gguf_name, values in t.items():
        source = sd[source_of(gguf_name)]
        heads = {"attn_q": cfg.num_attention_heads, "attn_k": cfg.num_key_value_heads}.get(gguf_name.split(".")[-2])
        if heads is None:
            np.testing.assert_array_equal(values, source, err_msg=gguf_name)
        else:
            assert not np.array_equal(values, source), gguf_name  # the reordering happened
            np.testing.assert_array_equal(unpermute(values, heads), source, err_msg=gguf_name)


def test_rope_freqs_are_llama_cpp_converters_factors(exported):
    """Against the formula in convert_hf_to_gguf.py (LlamaModel.generate_extra_tensors), restated here."""
    factors = tensors(exported["llama-llama3-bias"][2])["rope_freqs.weight"]
    base, dim, s = LLAMA3["rope_theta"], 8, LLAMA3
    expected = []
    for freq in 1.0 / base ** (np.arange(0, dim, 2) / dim):
        wavelen = 2 * math.pi / freq
        if wavelen < s["original_max_position_embeddings"] / s["high_freq_factor"]:
            expected.append(1.0)
        elif wavelen > s["original_max_position_embeddings"] / s["low_freq_factor"]:
            expected.append(s["factor"])
        else:
            smooth = (s["original_max_position_embeddings"] / wavelen - s["low_freq_factor"]) / \
                (s["high_freq_factor"] - s["low_freq_factor"])
            expected.append(1 / ((1 - smooth) / s["factor"] + smooth))
    np.testing.assert_allclose(factors, expected, rtol=1e-5)
    assert factors[0] == 1.0 and 1.0 < factors[1] < 8.0 and factors[3] == 8.0  # all three bands


def test_f16_keeps_norms_biases_and_rope_freqs_in_f32(tmp_path):
    model = checkpoint(tmp_path, "llama-llama3-bias")
    r = gguf.GGUFReader(export_gguf(tmp_path, tmp_path / "m.gguf", dtype="f16"))
    types = {t.name: t.tensor_type for t in r.tensors}
    f32 = {n for n, ty in types.items() if ty == gguf.GGMLQuantizationType.F32}
    assert f32 == {n for n in types if n.endswith(("_norm.weight", ".bias")) or n == "rope_freqs.weight"}
    assert {ty for n, ty in types.items() if n not in f32} == {gguf.GGMLQuantizationType.F16}
    assert field(r, "general.file_type") == int(gguf.LlamaFileType.MOSTLY_F16)
    embd = tensors(r)["token_embd.weight"]
    np.testing.assert_array_equal(embd, model.model.embed_tokens.weight.detach().numpy().astype(np.float16))


def test_bf16_sharded_checkpoint_exports(tmp_path):
    """As the released checkpoints are stored: bf16, in shards with an index."""
    model = checkpoint(tmp_path, "qwen2")
    model.to(torch.bfloat16).save_pretrained(tmp_path, max_shard_size="20KB")
    assert len(list(tmp_path.glob("model-*-of-*.safetensors"))) > 1
    t = tensors(gguf.GGUFReader(export_gguf(tmp_path, tmp_path / "m.gguf", dtype="f32")))
    k_bias = model.model.layers[1].self_attn.k_proj.bias.detach().float().numpy()
    np.testing.assert_array_equal(t["blk.1.attn_k.bias"], k_bias)
    assert len(t) == 3 + 2 * 12


# ---- refusals and the CLI -------------------------------------------------------------------


def one_line_error(tmp_path, match: str) -> None:
    with pytest.raises(ValueError) as info:
        export_gguf(tmp_path, tmp_path / "m.gguf")
    assert "\n" not in str(info.value) and match in str(info.value), str(info.value)
    assert not (tmp_path / "m.gguf").exists() and not (tmp_path / "m.gguf.part").exists()


@pytest.mark.parametrize("change, match", [
    ({"head_dim": 16}, "llama.cpp's qwen2 needs num_attention_heads * head_dim == hidden_size, got 4 * 16 != 32"),
    ({"attention_bias": True}, "llama.cpp's qwen2 has no attn_output bias"),
    ({"rope_parameters": LLAMA3}, "llama.cpp's qwen2 has no rope_freqs"),
])
def test_qwen2_llama_cpp_cannot_run_is_refused(tmp_path, change, match):
    checkpoint(tmp_path, "qwen2")
    config = json.loads((tmp_path / "config.json").read_text()) | change
    (tmp_path / "config.json").write_text(json.dumps(config))
    one_line_error(tmp_path, match)


def test_unknown_pre_tokenizer_is_refused(tmp_path):
    checkpoint(tmp_path, "qwen2")
    spec = json.loads((tmp_path / "tokenizer.json").read_text())
    spec["pre_tokenizer"] = {"type": "Whitespace"}
    (tmp_path / "tokenizer.json").write_text(json.dumps(spec))
    one_line_error(tmp_path, "tokenizer.json: llama.cpp has no pre-tokenizer known to split text as this one does "
                             "(('Whitespace',),); supported: ['deepseek-r1-qwen', 'llama-bpe', 'smollm']")


def test_cli_exports_qwen2_and_refuses_other_model_types(tmp_path, capsys):
    checkpoint(tmp_path / "ckpt", "qwen2")
    out = tmp_path / "m.gguf"
    assert main(["export", "--model", str(tmp_path / "ckpt"), "--out", str(out)]) == 0
    assert field(gguf.GGUFReader(out), "general.architecture") == "qwen2"
    assert ", qwen2, f16)" in capsys.readouterr().err
    (tmp_path / "mistral").mkdir()
    (tmp_path / "mistral" / "config.json").write_text(json.dumps({"model_type": "mistral"}))
    assert main(["export", "--model", str(tmp_path / "mistral"), "--out", str(tmp_path / "x.gguf")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "model_type must be one of ['deepseek_v3', 'llama', 'qwen2'] for GGUF export, " \
        "got 'mistral'" in err and not (tmp_path / "x.gguf").exists()


# ---- llama.cpp itself -------------------------------------------------------------------------


@pytest.mark.parametrize("name", CASES)
def test_llama_cpp_tokens_and_logits_match_transformers(tmp_path, name):
    """llama.cpp on the file (optional: needs llama-cpp-python): the same tokens, the same logits."""
    llama_cpp = pytest.importorskip("llama_cpp")
    model = checkpoint(tmp_path, name, wide=True)
    tok = Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    path = export_gguf(tmp_path, tmp_path / "m.gguf", dtype="f32")
    # f32 cache: llama.cpp's default f16 cache would blur the comparison
    llm = llama_cpp.Llama(str(path), n_ctx=64, n_threads=1, logits_all=True, type_k=0, type_v=0, verbose=False)
    for text in TEXTS[:4]:
        assert llm.tokenize(text.encode(), add_bos=False, special=True) == tok.encode(text).ids
    ids = tok.encode(f"{BOS}{USER}The quick brown fox 123, y'all{ASSISTANT}<think>\n").ids
    llm.eval(ids)
    theirs = torch.tensor(np.array(llm.scores[: len(ids)]), dtype=torch.float32)
    with torch.no_grad():
        ours = model(torch.tensor([ids])).logits[0]
    assert ours.abs().max() > 1.0  # wide weights: a wrong rotation or bias would show
    torch.testing.assert_close(theirs, ours, rtol=1e-4, atol=1e-4)
