"""Checkpoints in the Hugging Face layout: `config.json`, `generation_config.json` and
safetensors weights (one file, or shards with an index), named as DeepSeek's official
checkpoints and transformers' `DeepseekV3ForCausalLM` expect. DeepSeek's FP8 releases load
too: their block-scaled weights are dequantized on the way in (see fp8.py). The R1-Distill
checkpoints (Llama, Qwen2) load through the same readers; `from_pretrained` picks by model_type.

Every native <-> HF name pair comes from the two tables below; nothing else renames keys.
"""

from __future__ import annotations

import json
import logging
import re
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from nanoseek.config import ModelConfig
from nanoseek.interop.fp8 import SCALE_SUFFIX, dequantize_blocks, is_fp8, weight_block_size
from nanoseek.model.llama import LlamaConfig, LlamaTransformer, Rotary
from nanoseek.model.rope import RotaryEmbedding
from nanoseek.model.transformer import Transformer

WEIGHTS_NAME = "model.safetensors"
INDEX_NAME = "model.safetensors.index.json"

log = logging.getLogger("nanoseek.interop")

# Native key (regex) -> HF key. {layer} is the decoder index; MTP module k sits at index
# num_hidden_layers + k, with its block's keys directly under it (official layout).
KEY_TABLE: list[tuple[str, str]] = [
    (r"embed_tokens\.weight", "model.embed_tokens.weight"),
    (r"norm\.weight", "model.norm.weight"),
    (r"lm_head\.weight", "lm_head.weight"),
    (r"layers\.(?P<layer>\d+)\.(?P<rest>.+)", "model.layers.{layer}.{rest}"),
    (r"mtp\.(?P<mtp>\d+)\.block\.(?P<rest>.+)", "model.layers.{layer}.{rest}"),
    (r"mtp\.(?P<mtp>\d+)\.(?P<rest>.+)", "model.layers.{layer}.{rest}"),
]

# Our routed experts are 3D tensors [E, out, in]; on disk each expert has its own matrices.
# Fused native suffix -> (per-expert HF suffix, which half of the `out` rows; None = all).
EXPERT_TABLE: dict[str, list[tuple[str, int | None]]] = {
    "experts.gate_up_proj": [("gate_proj.weight", 0), ("up_proj.weight", 1)],
    "experts.down_proj": [("down_proj.weight", None)],
}

# Official MTP layers also store copies of the shared embedding and head: written for other
# runtimes (vLLM's MTP loader reads them), skipped on load since ours share the main ones.
MTP_SHARED_COPIES = {"embed_tokens.weight": "embed_tokens.weight", "shared_head.head.weight": "lm_head.weight"}


def hf_key(native: str, num_hidden_layers: int) -> str:
    for pattern, template in KEY_TABLE:
        m = re.fullmatch(pattern, native)
        if m:
            groups = m.groupdict()
            if "mtp" in groups:
                groups["layer"] = str(num_hidden_layers + int(groups.pop("mtp")))
            return template.format(**groups)
    raise KeyError(f"no HF name for parameter {native!r}: add it to KEY_TABLE")


def hf_parts(native: str, shape: torch.Size, num_hidden_layers: int) -> Iterator[tuple[str, tuple]]:
    """(HF key, index into the native tensor) for every HF tensor the native tensor maps to."""
    key = hf_key(native, num_hidden_layers)
    for suffix, parts in EXPERT_TABLE.items():
        if key.endswith(suffix):
            prefix = key[: -len(suffix)] + "experts"
            for expert in range(shape[0]):
                for hf_suffix, half in parts:
                    rows = slice(None) if half is None else slice(half * shape[1] // 2, (half + 1) * shape[1] // 2)
                    yield f"{prefix}.{expert}.{hf_suffix}", (expert, rows)
            return
    yield key, ()


def to_hf_state_dict(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    cfg: ModelConfig = model.config
    out = {}
    for name, tensor in model.state_dict().items():
        for key, index in hf_parts(name, tensor.shape, cfg.num_hidden_layers):
            out[key] = tensor[index].contiguous()
    for k in range(len(model.mtp)):
        for copy_suffix, shared in MTP_SHARED_COPIES.items():
            out[f"model.layers.{cfg.num_hidden_layers + k}.{copy_suffix}"] = out[hf_key(shared, 0)].clone()
    return out


# ---- save -------------------------------------------------------------------------------


def save_pretrained(model: torch.nn.Module, path: Path, max_shard_bytes: int = 4 << 30) -> None:
    """Write config.json, generation_config.json and the weights (sharded past max_shard_bytes)."""
    path.mkdir(parents=True, exist_ok=True)
    cfg: ModelConfig = model.config
    (path / "config.json").write_text(json.dumps(cfg.to_hf_dict(), indent=2) + "\n")
    generation = {"bos_token_id": cfg.bos_token_id, "eos_token_id": cfg.eos_token_id, "do_sample": True,
                  "temperature": 0.6, "top_p": 0.95}  # DeepSeek-R1's recommended sampling
    (path / "generation_config.json").write_text(json.dumps(generation, indent=2) + "\n")
    shards = _split_shards(to_hf_state_dict(model), max_shard_bytes)
    for stale in [path / WEIGHTS_NAME, path / INDEX_NAME, *path.glob("model-*-of-*.safetensors")]:
        stale.unlink(missing_ok=True)
    if len(shards) == 1:
        save_file(shards[0], path / WEIGHTS_NAME, metadata={"format": "pt"})
        return
    weight_map = {}
    for i, shard in enumerate(shards, start=1):
        name = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
        save_file(shard, path / name, metadata={"format": "pt"})
        weight_map.update(dict.fromkeys(shard, name))
    total = sum(t.numel() * t.element_size() for s in shards for t in s.values())
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (path / INDEX_NAME).write_text(json.dumps(index, indent=2) + "\n")


def _split_shards(tensors: dict[str, torch.Tensor], max_bytes: int) -> list[dict[str, torch.Tensor]]:
    shards, size = [{}], 0
    for key, t in tensors.items():
        nbytes = t.numel() * t.element_size()
        if shards[-1] and size + nbytes > max_bytes:
            shards.append({})
            size = 0
        shards[-1][key] = t
        size += nbytes
    return shards


# ---- load -------------------------------------------------------------------------------


def load_config(path: Path) -> ModelConfig:
    """The checkpoint's ModelConfig; a broken config.json is a ValueError naming it."""
    return _model_config(_config_json(path), path)


def _config_json(path: Path) -> dict:
    config_file = path / "config.json"
    if not config_file.is_file():
        raise FileNotFoundError(f"{path} is not a checkpoint directory: no config.json")
    data = _read_json(config_file)
    if not isinstance(data, dict):
        raise ValueError(f"{config_file}: must hold a JSON object, got a {type(data).__name__}")
    return data


def _model_config(data: dict, path: Path, config_cls: type = ModelConfig) -> Any:
    try:
        return config_cls.from_hf_dict(data)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{path / 'config.json'}: {e}") from None


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None


def from_pretrained(path: str | Path, device: str | torch.device = "cpu") -> Transformer | LlamaTransformer:
    """Any supported checkpoint, picked by config.json's model_type (see LOADERS)."""
    path = Path(path)
    model_type = _config_json(path).get("model_type")
    if model_type not in LOADERS:
        raise ValueError(f"{path / 'config.json'}: model_type must be one of {sorted(LOADERS)}, got {model_type!r}")
    return LOADERS[model_type](path, device)


def load_pretrained(cls, path: Path, device: str | torch.device = "cpu"):
    """Build the model on the meta device, then assign the checkpoint's tensors (no double init).
    DeepSeek's block-scaled FP8 weights are dequantized one tensor at a time as they are read."""
    config = _config_json(path)
    cfg = _model_config(config, path)
    files = _weight_files(path)
    scales, block = _fp8_layout(config, files, path)
    cfg = _without_absent_mtp(cfg, files, path)
    with torch.device("meta"):
        model = cls(cfg)
    mtp_copies = frozenset(f"model.layers.{cfg.num_hidden_layers + k}.{s}"
                           for k in range(cfg.num_nextn_predict_layers) for s in MTP_SHARED_COPIES)
    native = _native_state_dict(model, path, files, scales, block, optional=mtp_copies)
    model.load_state_dict(native, assign=True)
    _materialise_buffers(model, cfg)
    if scales:
        log.info("%s: FP8 checkpoint: dequantized its %d block-scaled weights", path, len(scales))
    return model.to(device)


def load_llama_pretrained(cls, path: Path, device: str | torch.device = "cpu"):
    """An R1-Distill checkpoint (Llama or Qwen2), kept in the dtype it is stored in: the released
    ones are bf16, and in fp32 the 7B alone would need 30 GB."""
    config = _config_json(path)
    cfg = _model_config(config, path, LlamaConfig)
    files = _weight_files(path)
    scales, block = _fp8_layout(config, files, path)
    with torch.device("meta"):
        model = cls(cfg).to(_stored_dtype(files, "model.embed_tokens.weight"))
    model.load_state_dict(_native_state_dict(model, path, files, scales, block), assign=True)
    model.rotary = Rotary(cfg)  # its frequencies are not in the file
    return model.to(device)


LOADERS: dict[str, Callable[[Path, str | torch.device], torch.nn.Module]] = {
    "deepseek_v3": Transformer.from_pretrained,
    "llama": LlamaTransformer.from_pretrained,
    "qwen2": LlamaTransformer.from_pretrained,
}


def _fp8_layout(config: dict, files: dict[str, Path], path: Path) -> tuple[dict[str, str], tuple[int, int] | None]:
    """(weight key -> key of its block scales, the scales' block size) of an FP8 checkpoint;
    ({}, None) of one in plain floats. A scale without its weight is a ValueError naming it."""
    try:
        block = weight_block_size(config)
    except ValueError as e:
        raise ValueError(f"{path / 'config.json'}: {e}") from None
    scales = {key.removesuffix(SCALE_SUFFIX): key for key in files if key.endswith(SCALE_SUFFIX)}
    for weight, scale in scales.items():
        if weight not in files:
            raise ValueError(f"{files[scale]}: tensor {scale} scales {weight}, which is not in the checkpoint")
        if block is None:
            raise ValueError(f"{files[scale]}: tensor {scale} holds FP8 block scales, but config.json "
                             f"has no quantization_config to give their block size")
    return scales, block


def _without_absent_mtp(cfg: ModelConfig, files: dict[str, Path], path: Path) -> ModelConfig:
    """The config with MTP off when it asks for MTP layers the checkpoint has no weights for:
    transformers' DeepseekV3Config says num_nextn_predict_layers=1 while its model holds no
    MTP module, so the checkpoints it saves have none (DeepSeek's own do)."""
    first_mtp = f"model.layers.{cfg.num_hidden_layers}."
    if cfg.num_nextn_predict_layers == 0 or any(key.startswith(first_mtp) for key in files):
        return cfg
    warnings.warn(f"{path}: config.json asks for {cfg.num_nextn_predict_layers} MTP layer(s) but the checkpoint "
                  f"has no {first_mtp}* weights; loading without MTP (no speculative decoding)", stacklevel=3)
    return cfg.replace(num_nextn_predict_layers=0)


def _weight_files(path: Path) -> dict[str, Path]:
    """HF key -> file holding it."""
    if (path / INDEX_NAME).is_file():
        weight_map = _read_json(path / INDEX_NAME)
        if not isinstance(weight_map, dict) or not isinstance(weight_map.get("weight_map"), dict):
            raise ValueError(f"{path / INDEX_NAME}: needs a \"weight_map\" object of tensor name -> file")
        files = {key: path / name for key, name in weight_map["weight_map"].items()}
        for file in set(files.values()):
            if not file.is_file():
                raise FileNotFoundError(f"{path / INDEX_NAME} names {file.name}, which is not in {path}")
        return files
    if (path / WEIGHTS_NAME).is_file():
        with _open_weights(path / WEIGHTS_NAME) as f:
            return dict.fromkeys(f.keys(), path / WEIGHTS_NAME)
    raise FileNotFoundError(f"no {WEIGHTS_NAME} or {INDEX_NAME} in {path} (only safetensors are loaded)")


def _open_weights(file: Path):
    """safe_open, with a damaged file (torn header, bad JSON in it, truncated) a ValueError naming it."""
    try:
        return safe_open(file, framework="pt")
    except Exception as e:  # SafetensorError, OSError, and what a malformed header raises
        raise ValueError(f"{file}: not a readable safetensors file ({e})") from None


def _stored_dtype(files: dict[str, Path], key: str) -> torch.dtype:
    """The dtype `key` is stored in, from its file's header; float32 when the checkpoint lacks
    it (the key check then names it)."""
    if key not in files:
        return torch.float32
    with _open_weights(files[key]) as f:
        return f.get_slice(key)[:0].dtype  # a zero-row slice: the dtype without reading the data


def _native_state_dict(
    model: torch.nn.Module, path: Path, files: dict[str, Path], scales: dict[str, str],
    block: tuple[int, int] | None, optional: frozenset[str] = frozenset(),
) -> dict[str, torch.Tensor]:
    """Every tensor of `model`'s state dict, read from `files` in the model's dtypes. `optional`:
    HF keys the checkpoint may hold that the model does not read."""
    cfg = model.config
    expected = {
        name: (t.shape, t.dtype, list(hf_parts(name, t.shape, cfg.num_hidden_layers)))
        for name, t in model.state_dict().items()
    }
    wanted = {key for _, _, parts in expected.values() for key, _ in parts}
    stored = files.keys() - scales.values()
    missing = sorted(wanted - stored)
    extra = sorted(stored - wanted - optional)
    if missing or extra:
        source = path / INDEX_NAME if (path / INDEX_NAME).is_file() else path / WEIGHTS_NAME
        raise ValueError(f"{source}: checkpoint does not match the config: missing {_few(missing)}; "
                         f"unexpected {_few(extra)}")
    handles = {p: _open_weights(p) for p in set(files.values())}
    native = {}
    for name, (shape, dtype, parts) in expected.items():
        tensor = torch.empty(shape, dtype=dtype)
        for key, index in parts:
            piece = _read_weight(handles, files, key, scales.get(key), block)
            if piece.shape != tensor[index].shape:
                raise ValueError(f"{files[key]}: tensor {key} has shape {tuple(piece.shape)}, config.json "
                                 f"makes it {tuple(tensor[index].shape)}")
            tensor[index] = piece.to(dtype)
        native[name] = tensor
    return native


def _read_weight(handles: dict, files: dict[str, Path], key: str, scale: str | None,
                 block: tuple[int, int] | None) -> torch.Tensor:
    """The tensor stored as `key`; float32 values when it is FP8 with block scales `scale`."""
    weight = _read_tensor(handles, files, key)
    if scale is None:
        if is_fp8(weight.dtype):
            raise ValueError(f"{files[key]}: tensor {key} is {str(weight.dtype).removeprefix('torch.')} "
                             f"but has no {key}{SCALE_SUFFIX} block scales")
        return weight
    scale_inv = _read_tensor(handles, files, scale)
    try:
        return dequantize_blocks(weight, scale_inv, block)
    except ValueError as e:
        raise ValueError(f"{files[scale]}: tensor {scale}: {e}") from None


def _read_tensor(handles: dict, files: dict[str, Path], key: str) -> torch.Tensor:
    try:
        return handles[files[key]].get_tensor(key)
    except Exception as e:  # safetensors raises its own error types for torn or corrupt data
        raise ValueError(f"{files[key]}: tensor {key} cannot be read ({e})") from None


def _materialise_buffers(model: torch.nn.Module, cfg: ModelConfig) -> None:
    """Non-persistent buffers (RoPE tables, load counters) are not in the file: build them."""
    model.rotary = RotaryEmbedding(cfg)
    for moe in model.moe_layers():
        moe.register_buffer("expert_load", torch.zeros(cfg.n_routed_experts), persistent=False)


def _few(names: list[str], n: int = 5) -> str:
    if not names:
        return "none"
    more = f" and {len(names) - n} more" if len(names) > n else ""
    return ", ".join(names[:n]) + more
