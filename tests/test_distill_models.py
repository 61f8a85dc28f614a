"""The R1-Distill architectures (Llama, Qwen2): logits parity with transformers on tiny random
checkpoints it saves, and `nanoseek.from_pretrained`'s dispatch and errors."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest
import torch
import transformers
from safetensors.torch import load_file, save_file

import nanoseek
from nanoseek import LlamaTransformer, Transformer
from nanoseek.config import tiny

transformers.logging.set_verbosity_error()

SIZES = dict(vocab_size=96, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
             max_position_embeddings=256)
# Llama 3.1's scaling, its original context short enough that the 4 frequencies of an 8-wide
# head fall in all three of its bands (kept, blended, slowed down).
LLAMA3 = {"rope_type": "llama3", "rope_theta": 10000.0, "factor": 8.0, "low_freq_factor": 1.0,
          "high_freq_factor": 4.0, "original_max_position_embeddings": 128}

# name -> (config class, settings beyond SIZES). GQA ratios 1, 2 and 4; tied and untied heads.
CASES = {
    "qwen2-gqa2": (transformers.Qwen2Config, dict(num_key_value_heads=2)),
    "qwen2-mha-tied": (transformers.Qwen2Config, dict(num_key_value_heads=4, tie_word_embeddings=True)),
    "qwen2-gqa4-theta1e6": (transformers.Qwen2Config,
                            dict(num_key_value_heads=1, rope_parameters={"rope_type": "default", "rope_theta": 1e6})),
    "llama-gqa2-llama3": (transformers.LlamaConfig, dict(num_key_value_heads=2, rope_parameters=LLAMA3)),
    "llama-mha-tied": (transformers.LlamaConfig, dict(num_key_value_heads=4, tie_word_embeddings=True)),
    "llama-gqa4-bias-head_dim16": (transformers.LlamaConfig,
                                   dict(num_key_value_heads=1, attention_bias=True, head_dim=16, hidden_size=48)),
}
HF_MODELS = {transformers.Qwen2Config: transformers.Qwen2ForCausalLM,
             transformers.LlamaConfig: transformers.LlamaForCausalLM}


def hf_model(name: str):
    config_cls, settings = CASES[name]
    torch.manual_seed(0)
    model = HF_MODELS[config_cls](config_cls(**(SIZES | settings))).eval()
    # Large weights and nonzero biases: at init scale (std 0.02, zero biases) every logit is ~0
    # and parity would hold whatever the biases or RoPE did.
    with torch.no_grad():
        for param_name, p in model.named_parameters():
            p.normal_(mean=1.0 if param_name.endswith("norm.weight") else 0.0, std=0.2)
    return model


def max_diff(ours, theirs, seq_len: int) -> float:
    ids = torch.randint(0, SIZES["vocab_size"], (2, seq_len), generator=torch.Generator().manual_seed(seq_len))
    with torch.no_grad():
        return (ours(ids) - theirs(ids).logits).abs().max().item()


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """name -> (transformers model, the directory it saved itself to)."""
    out = {}
    for name in CASES:
        theirs = hf_model(name)
        path = tmp_path_factory.mktemp(name)
        theirs.save_pretrained(path)
        out[name] = theirs, path
    return out


@pytest.mark.parametrize("name", CASES)
def test_logits_match_transformers(checkpoints, name):
    theirs, path = checkpoints[name]
    ours = nanoseek.from_pretrained(path)
    assert isinstance(ours, LlamaTransformer) and ours.config.model_type == theirs.config.model_type
    for seq_len in (1, 7, 40):
        assert max_diff(ours, theirs, seq_len) <= 1e-4


def test_llama3_scaling_changes_the_logits(checkpoints):
    """Guards the llama3 parity case: it would pass vacuously if the scaling changed nothing."""
    path = checkpoints["llama-gqa2-llama3"][1]
    scaled = nanoseek.from_pretrained(path)
    plain = LlamaTransformer(dataclasses.replace(scaled.config, rope_scaling=None))
    plain.load_state_dict(scaled.state_dict())
    ids = torch.arange(40).unsqueeze(0)
    with torch.no_grad():
        assert (scaled(ids) - plain(ids)).abs().max() > 1e-2


def test_released_config_format_loads(checkpoints, tmp_path):
    """The R1-Distill config.json files predate transformers 5: rope_theta and rope_scaling,
    not rope_parameters."""
    theirs, path = checkpoints["llama-gqa2-llama3"]
    config = json.loads((path / "config.json").read_text())
    rope = config.pop("rope_parameters")
    config |= {"rope_theta": rope.pop("rope_theta"), "rope_scaling": rope, "torch_dtype": "float32"}
    (tmp_path / "config.json").write_text(json.dumps(config))
    shutil.copy(path / "model.safetensors", tmp_path)
    assert max_diff(nanoseek.from_pretrained(tmp_path), theirs, 40) <= 1e-4


def test_sharded_checkpoint_loads(tmp_path):
    theirs = hf_model("qwen2-gqa2")
    theirs.save_pretrained(tmp_path, max_shard_size="20KB")
    assert len(list(tmp_path.glob("model-*-of-*.safetensors"))) > 1
    assert max_diff(nanoseek.from_pretrained(tmp_path), theirs, 40) <= 1e-4


def test_bf16_checkpoint_stays_bf16(tmp_path):
    hf_model("llama-mha-tied").to(torch.bfloat16).save_pretrained(tmp_path)
    ours = nanoseek.from_pretrained(tmp_path)
    assert {p.dtype for p in ours.parameters()} == {torch.bfloat16}
    assert ours(torch.arange(5).unsqueeze(0)).dtype == torch.float32


class ConcatCache:
    """The simplest KVCache: keys and values of every step so far, concatenated (batch 1)."""

    def __init__(self) -> None:
        self.k = self.v = None

    def update(self, k, v):
        self.k = k if self.k is None else torch.cat([self.k, k], dim=1)
        self.v = v if self.v is None else torch.cat([self.v, v], dim=1)
        t, s = k.shape[1], self.k.shape[1]
        mask = torch.ones(t, s, dtype=torch.bool).tril(diagonal=s - t)  # query i sees keys 0..s-t+i
        return self.k, self.v, mask[None, None]


def test_incremental_decoding_matches_one_forward(checkpoints):
    ours = nanoseek.from_pretrained(checkpoints["llama-gqa2-llama3"][1])
    ids = torch.randint(0, SIZES["vocab_size"], (1, 12), generator=torch.Generator().manual_seed(1))
    caches = [ConcatCache() for _ in ours.layers]
    with torch.no_grad():
        full = ours(ids)
        steps = [ours(ids[:, :5], caches=caches)]  # a prompt chunk, then one token at a time
        for i in range(5, 12):
            steps.append(ours(ids[:, i : i + 1], positions=torch.tensor([[i]]), caches=caches))
    assert (torch.cat(steps, dim=1) - full).abs().max() <= 1e-5


def test_deepseek_checkpoints_still_load_as_our_transformer(tmp_path):
    model = Transformer(tiny().replace(num_nextn_predict_layers=0)).eval()
    model.save_pretrained(tmp_path)
    loaded = nanoseek.from_pretrained(tmp_path)
    ids = torch.arange(8).unsqueeze(0)
    with torch.no_grad():
        assert isinstance(loaded, Transformer) and torch.equal(loaded(ids), model(ids))


# ---- errors: one line naming the file ----------------------------------------------------


def one_line_error(path, match: str) -> str:
    with pytest.raises(ValueError) as info:
        nanoseek.from_pretrained(path)
    message = str(info.value)
    assert "\n" not in message and match in message, message
    return message


def test_unknown_model_type_names_config_and_supported_types(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "mistral"}))
    one_line_error(tmp_path, f"{tmp_path / 'config.json'}: model_type must be one of "
                             "['deepseek_v3', 'llama', 'qwen2'], got 'mistral'")


def test_missing_weight_names_the_file_and_the_tensor(checkpoints, tmp_path):
    path = checkpoints["qwen2-gqa2"][1]
    tensors = load_file(path / "model.safetensors")
    del tensors["model.layers.1.self_attn.k_proj.bias"]
    save_file(tensors, tmp_path / "model.safetensors", metadata={"format": "pt"})
    (tmp_path / "config.json").write_text((path / "config.json").read_text())
    one_line_error(tmp_path, f"{tmp_path / 'model.safetensors'}: checkpoint does not match the config: "
                             "missing model.layers.1.self_attn.k_proj.bias; unexpected none")


@pytest.mark.parametrize("change, match", [
    ({"num_key_value_heads": 3}, "num_key_value_heads must be a divisor of num_attention_heads=4, got 3"),
    ({"use_sliding_window": True}, "use_sliding_window must be False, got True"),
    ({"hidden_act": "gelu"}, "hidden_act must be 'silu', got 'gelu'"),
    ({"rope_parameters": {"rope_type": "yarn", "factor": 4.0}}, "rope_scaling.rope_type must be one of"),
    ({"rope_parameters": LLAMA3 | {"high_freq_factor": 1.0}},
     "rope_scaling.high_freq_factor must be > low_freq_factor=1.0, got 1.0"),
    ({"eos_token_id": [2, 10**6]}, "eos_token_id must be a token id in"),
])
def test_unsupported_config_names_the_field(tmp_path, change, match):
    config = {"model_type": "qwen2", **SIZES, **change}
    (tmp_path / "config.json").write_text(json.dumps(config))
    message = one_line_error(tmp_path, match)
    assert message.startswith(f"{tmp_path / 'config.json'}: LlamaConfig."), message
