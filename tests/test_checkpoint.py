"""HF-layout checkpoints: round trips, official key names, clear errors."""

import json

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from nanoseek import Transformer
from nanoseek.config import tiny


@pytest.fixture
def model() -> Transformer:
    torch.manual_seed(0)
    m = Transformer(tiny())
    with torch.no_grad():
        for moe in m.moe_layers():
            moe.gate.e_score_correction_bias.uniform_(-0.1, 0.1)
    return m.eval()


def _same_state(a: Transformer, b: Transformer) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_round_trip_keeps_every_tensor_including_mtp(tmp_path, model):
    model.save_pretrained(tmp_path)
    loaded = Transformer.from_pretrained(tmp_path)
    assert _same_state(model, loaded)
    assert any(k.startswith("mtp.0.") for k in loaded.state_dict())
    ids = torch.randint(0, 512, (2, 9))
    assert torch.equal(model(ids[:, :-1], labels=ids[:, 1:]).mtp, loaded(ids[:, :-1], labels=ids[:, 1:]).mtp)


def test_disk_layout_uses_official_names(tmp_path, model):
    model.save_pretrained(tmp_path)
    with safe_open(tmp_path / "model.safetensors", "pt") as f:
        keys = set(f.keys())
    for key in ["model.layers.1.mlp.experts.7.gate_proj.weight", "model.layers.1.mlp.experts.0.down_proj.weight",
                "model.layers.1.mlp.gate.e_score_correction_bias", "model.layers.2.enorm.weight",
                "model.layers.2.hnorm.weight", "model.layers.2.eh_proj.weight",
                "model.layers.2.shared_head.norm.weight", "model.layers.2.self_attn.kv_a_proj_with_mqa.weight",
                "model.layers.2.mlp.experts.3.up_proj.weight", "model.embed_tokens.weight", "lm_head.weight"]:
        assert key in keys
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["scoring_func"] == "sigmoid" and config["topk_method"] == "noaux_tc"
    assert config["num_nextn_predict_layers"] == 1 and config["model_type"] == "deepseek_v3"
    gate = model.layers[1].mlp.experts.gate_up_proj
    with safe_open(tmp_path / "model.safetensors", "pt") as f:
        assert torch.equal(f.get_tensor("model.layers.1.mlp.experts.5.up_proj.weight"), gate[5, 32:])
        assert f.get_tensor("model.layers.1.mlp.gate.e_score_correction_bias").dtype == torch.float32


def test_sharded_round_trip(tmp_path, model):
    from nanoseek.interop.hf import save_pretrained

    save_pretrained(model, tmp_path, max_shard_bytes=200_000)
    index = json.loads((tmp_path / "model.safetensors.index.json").read_text())
    assert len(set(index["weight_map"].values())) > 1
    assert not (tmp_path / "model.safetensors").exists()
    assert _same_state(model, Transformer.from_pretrained(tmp_path))


def _edit_weights(path, edit):
    tensors = load_file(path / "model.safetensors")
    edit(tensors)
    save_file(tensors, path / "model.safetensors", metadata={"format": "pt"})


def test_missing_tensor_is_named(tmp_path, model):
    model.save_pretrained(tmp_path)
    _edit_weights(tmp_path, lambda t: t.pop("model.layers.0.self_attn.o_proj.weight"))
    with pytest.raises(ValueError, match=r"missing model\.layers\.0\.self_attn\.o_proj\.weight; unexpected none"):
        Transformer.from_pretrained(tmp_path)


def test_extra_tensor_is_named(tmp_path, model):
    model.save_pretrained(tmp_path)
    _edit_weights(tmp_path, lambda t: t.update({"model.layers.9.foo.weight": torch.zeros(2)}))
    with pytest.raises(ValueError, match=r"missing none; unexpected model\.layers\.9\.foo\.weight"):
        Transformer.from_pretrained(tmp_path)


def test_misshaped_tensor_is_named(tmp_path, model):
    model.save_pretrained(tmp_path)
    _edit_weights(tmp_path, lambda t: t.update({"model.norm.weight": torch.ones(63)}))
    with pytest.raises(ValueError, match=r"tensor model\.norm\.weight has shape \(63,\), config\.json makes it \(64,\)"):
        Transformer.from_pretrained(tmp_path)


def test_directory_without_safetensors_is_refused(tmp_path, model):
    model.save_pretrained(tmp_path)
    (tmp_path / "model.safetensors").rename(tmp_path / "pytorch_model.bin")
    with pytest.raises(FileNotFoundError, match="only safetensors are loaded"):
        Transformer.from_pretrained(tmp_path)


def test_softmax_gating_checkpoint_is_refused(tmp_path, model):
    model.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps(config | {"scoring_func": "softmax"}))
    with pytest.raises(ValueError, match="scoring_func must be 'sigmoid'"):
        Transformer.from_pretrained(tmp_path)
