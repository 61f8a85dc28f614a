"""DeepSeek's FP8 checkpoints (the V3/R1 release layout): block-scaled float8_e4m3fn weights with
`_scale_inv` companions load dequantized; a malformed one is one line naming the file and the
tensor, exit 2, as in test_broken_checkpoints.py."""

from __future__ import annotations

import json
import logging
import re
import shutil
import warnings

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from nanoseek import Transformer
from nanoseek.cli import EXIT_USAGE, main
from nanoseek.config import tiny
from nanoseek.interop.fp8 import dequantize_blocks
from nanoseek.interop.hf import to_hf_state_dict
from nanoseek.tokenizer import train_tokenizer

E4M3_MAX = torch.finfo(torch.float8_e4m3fn).max  # 448
# What DeepSeek stores in fp8: the attention and MLP projections (dense MLP, shared and routed
# experts); not the embeddings, head, norms or router.
QUANTIZED = re.compile(r"model\.layers\.\d+\.(self_attn|mlp)\..*_proj(_with_mqa)?\.weight")
FP8_CONFIG = {"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8", "weight_block_size": [128, 128]}
Q_A = "model.layers.0.self_attn.q_a_proj.weight"  # [32, 160]: one full and one partial block


def quantize_blocks(w: torch.Tensor, block: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(fp8 weight, scale_inv, the float32 values they stand for), one block at a time, the way
    DeepSeek's weights were made: each block scaled so its largest magnitude is e4m3's max."""
    grid = (-(-w.shape[0] // block[0]), -(-w.shape[1] // block[1]))
    fp8, scale_inv, values = torch.empty_like(w, dtype=torch.float8_e4m3fn), torch.empty(grid), torch.empty_like(w)
    for i in range(grid[0]):
        for j in range(grid[1]):
            tile = (slice(i * block[0], (i + 1) * block[0]), slice(j * block[1], (j + 1) * block[1]))
            scale_inv[i, j] = w[tile].abs().max() / E4M3_MAX
            fp8[tile] = (w[tile] / scale_inv[i, j]).to(torch.float8_e4m3fn)
            values[tile] = fp8[tile].float() * scale_inv[i, j]
    return fp8, scale_inv, values


def save_fp8(model: Transformer, path, block: tuple[int, int] = (128, 128)) -> dict[str, torch.Tensor]:
    """Save `model` in DeepSeek's FP8 layout; return the HF tensors the checkpoint stands for."""
    model.save_pretrained(path)
    tensors = load_file(path / "model.safetensors")
    values = dict(tensors)
    for key in [k for k in tensors if QUANTIZED.fullmatch(k)]:
        tensors[key], tensors[key + "_scale_inv"], values[key] = quantize_blocks(tensors[key], block)
    save_file(tensors, path / "model.safetensors", metadata={"format": "pt"})
    set_quantization_config(path, FP8_CONFIG | {"weight_block_size": list(block)})
    return values


def set_quantization_config(path, quantization: dict | None) -> None:
    """Rewrite config.json with this `quantization_config` (None: without one)."""
    config = json.loads((path / "config.json").read_text())
    config.pop("quantization_config", None)
    if quantization is not None:
        config["quantization_config"] = quantization
    (path / "config.json").write_text(json.dumps(config))


def edit_weights(path, edit) -> None:
    tensors = load_file(path / "model.safetensors")
    edit(tensors)
    save_file(tensors, path / "model.safetensors", metadata={"format": "pt"})


@pytest.fixture(scope="module")
def model() -> Transformer:
    """Widths 160 and 200 (= 128 + 32, 128 + 72) give the weights partial edge blocks."""
    torch.manual_seed(0)
    return Transformer(tiny().replace(vocab_size=320, hidden_size=160, intermediate_size=200)).eval()


@pytest.fixture(scope="module")
def fp8(model, tmp_path_factory):
    """(checkpoint directory, the HF tensors it stands for)."""
    path = tmp_path_factory.mktemp("fp8") / "ckpt"
    values = save_fp8(model, path)
    train_tokenizer(["hello world, 12 + 30 = 42"] * 20, 300).save(path)  # servable, for the CLI cases
    return path, values


def test_dequantize_blocks_scales_each_block_including_partial_edges():
    weight = (torch.arange(15.0).reshape(3, 5) - 7).to(torch.float8_e4m3fn)  # small integers: exact in e4m3
    scale_inv = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])  # 2x2 blocks: the last row and column partial
    per_element = torch.tensor([[1.0, 1, 2, 2, 3], [1, 1, 2, 2, 3], [4, 4, 5, 5, 6]])
    assert torch.equal(dequantize_blocks(weight, scale_inv, (2, 2)), weight.float() * per_element)


def test_fp8_checkpoint_loads_the_values_its_fp8_weights_stand_for(fp8):
    path, values = fp8
    with safe_open(path / "model.safetensors", framework="pt") as f:
        scales = [k for k in f.keys() if k.endswith("_scale_inv")]
    assert len(scales) == 72  # attention, dense MLP, shared and routed experts of 3 layers (one MTP)
    loaded = to_hf_state_dict(Transformer.from_pretrained(path))
    assert loaded.keys() == values.keys()
    assert all(torch.equal(loaded[k], values[k]) for k in values)


def test_fp8_logits_are_close_to_the_full_precision_model(model, fp8):
    # e4m3 keeps 3 mantissa bits: each weight is off by up to 1/16 of itself. Measured over 20
    # seeds: 3.3-3.7% relative error of the logits with dense layers only, up to 7.7% with MoE
    # (near-tied tokens switch experts). A scale misapplied is off by orders of magnitude.
    ids = torch.randint(0, 320, (4, 32), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want, got = model(ids), Transformer.from_pretrained(fp8[0])(ids)
    assert (got - want).norm() / want.norm() < 0.10


def test_block_size_comes_from_the_config(model, tmp_path):
    values = save_fp8(model, tmp_path, block=(64, 48))
    loaded = to_hf_state_dict(Transformer.from_pretrained(tmp_path))
    assert all(torch.equal(loaded[k], values[k]) for k in values)


def test_scales_may_sit_in_another_shard(fp8, tmp_path):
    path, values = fp8
    tensors = load_file(path / "model.safetensors")
    scales = {k: tensors.pop(k) for k in list(tensors) if k.endswith("_scale_inv")}
    shutil.copy(path / "config.json", tmp_path / "config.json")
    weight_map = {}
    for name, shard in [("model-00001-of-00002.safetensors", tensors), ("model-00002-of-00002.safetensors", scales)]:
        save_file(shard, tmp_path / name, metadata={"format": "pt"})
        weight_map |= dict.fromkeys(shard, name)
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    loaded = to_hf_state_dict(Transformer.from_pretrained(tmp_path))
    assert all(torch.equal(loaded[k], values[k]) for k in values)


def test_fp8_load_says_one_info_line_and_nothing_else(fp8, capsys, caplog):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with caplog.at_level(logging.DEBUG):
            Transformer.from_pretrained(fp8[0])
    assert capsys.readouterr().out == ""
    assert [(r.levelno, "FP8" in r.getMessage()) for r in caplog.records] == [(logging.INFO, True)]


# ---- malformed FP8 checkpoints: one line naming the file and the tensor, exit 2 ------------


def drop(key: str):
    return lambda path: edit_weights(path, lambda t: t.pop(key))


def config_quantization(**quantization):
    return lambda path: set_quantization_config(path, quantization or None)


def scale_of_shape(*shape: int):
    def apply(path):
        edit_weights(path, lambda t: t.update({Q_A + "_scale_inv": torch.ones(shape)}))
    return apply


CASES = {
    "fp8 weight without its scale": (drop(Q_A + "_scale_inv"),
                                     f"model.safetensors: tensor {Q_A} is float8_e4m3fn but has no "
                                     f"{Q_A}_scale_inv block scales"),
    "scale without its weight": (drop(Q_A),
                                 f"model.safetensors: tensor {Q_A}_scale_inv scales {Q_A}, which is not in the checkpoint"),
    "scale of another block grid": (scale_of_shape(1, 1),
                                    f"model.safetensors: tensor {Q_A}_scale_inv: scale_inv has shape (1, 1), but a "
                                    f"32x160 weight in 128x128 blocks needs (1, 2)"),
    "scale of another rank": (scale_of_shape(2), "but a 32x160 weight in 128x128 blocks needs (1, 2)"),
    "scales without quantization_config": (config_quantization(),
                                           "holds FP8 block scales, but config.json has no quantization_config"),
    "another quant_method": (config_quantization(quant_method="gptq", weight_block_size=[128, 128]),
                             "config.json: quantization_config.quant_method must be 'fp8'"),
    "no weight_block_size": (config_quantization(quant_method="fp8"),
                             "config.json: quantization_config.weight_block_size must be two positive integers, "
                             "got None"),
    "one-number block size": (config_quantization(quant_method="fp8", weight_block_size=[128]),
                              "weight_block_size must be two positive integers, got [128]"),
    "zero block size": (config_quantization(quant_method="fp8", weight_block_size=[128, 0]),
                        "weight_block_size must be two positive integers, got [128, 0]"),
}


@pytest.mark.parametrize("kind", CASES)
def test_a_malformed_fp8_checkpoint_is_one_line_naming_the_problem(fp8, tmp_path, capsys, kind):
    breaks, message = CASES[kind]
    broken = tmp_path / "ckpt"
    shutil.copytree(fp8[0], broken)
    breaks(broken)
    assert main(["serve", "--model", str(broken), "--no-compile"]) == EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("nanoseek serve: error: "), err
    assert message in err, err
