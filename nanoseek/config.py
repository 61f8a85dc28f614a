"""Model configuration: `DeepseekV3Config` field names, validated, plus named size presets.

The field names match transformers' `DeepseekV3Config` so a `config.json` moves both ways.
A few of our own knobs (MTP loss weight, balance-loss alpha, init std) live beside them;
they are written to `config.json` too and ignored by other runtimes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

ROPE_TYPES = ("default", "yarn")


@dataclass
class ModelConfig:
    vocab_size: int = 4096
    hidden_size: int = 256
    intermediate_size: int = 768  # dense MLP of the first `first_k_dense_replace` layers
    moe_intermediate_size: int = 256  # each routed / shared expert
    num_hidden_layers: int = 4
    num_attention_heads: int = 8
    # MLA
    q_lora_rank: int | None = 128  # None: plain q_proj
    kv_lora_rank: int = 64
    qk_nope_head_dim: int = 32
    qk_rope_head_dim: int = 16
    v_head_dim: int = 32
    # DeepSeekMoE
    n_shared_experts: int = 1
    n_routed_experts: int = 8
    num_experts_per_tok: int = 2
    n_group: int = 1
    topk_group: int = 1
    first_k_dense_replace: int = 1
    norm_topk_prob: bool = True
    routed_scaling_factor: float = 1.0
    # RoPE
    rope_theta: float = 10000.0
    rope_scaling: dict[str, Any] | None = None  # {"type": "yarn", "factor", ...} as in V3's config
    rope_interleave: bool = True
    max_position_embeddings: int = 2048
    # misc
    rms_norm_eps: float = 1e-6
    num_nextn_predict_layers: int = 0  # MTP modules
    tie_word_embeddings: bool = False
    bos_token_id: int | None = 0
    eos_token_id: int | None = 1
    pad_token_id: int | None = None
    # nanoseek training knobs (not in DeepseekV3Config; other runtimes ignore them)
    # Init std. V3 used 0.006 at hidden 7168; at our small widths 0.02 trains faster (speedrun
    # preset, 100 steps: loss 4.85 vs 5.15 with 0.006; see the foundation issue's note).
    initializer_range: float = 0.02
    mtp_loss_weight: float = 0.3  # lambda: 0.3 early in V3's pretraining, 0.1 later
    balance_loss_alpha: float = 0.0001  # sequence-wise balance loss weight

    def __post_init__(self) -> None:
        self._validate()

    @property
    def qk_head_dim(self) -> int:
        return self.qk_nope_head_dim + self.qk_rope_head_dim

    @property
    def rope_type(self) -> str:
        if not self.rope_scaling:
            return "default"
        return self.rope_scaling.get("rope_type", self.rope_scaling.get("type", "default"))

    def is_moe_layer(self, layer_idx: int) -> bool:
        return layer_idx >= self.first_k_dense_replace

    # ---- validation ---------------------------------------------------------------------

    def _validate(self) -> None:
        positive = [
            "vocab_size", "hidden_size", "intermediate_size", "moe_intermediate_size",
            "num_hidden_layers", "num_attention_heads", "kv_lora_rank", "qk_nope_head_dim",
            "qk_rope_head_dim", "v_head_dim", "n_routed_experts", "num_experts_per_tok",
            "n_group", "topk_group", "max_position_embeddings",
        ]
        for name in positive:
            require(isinstance(getattr(self, name), int) and getattr(self, name) > 0,
                     name, "a positive integer", getattr(self, name))
        for name, most in LIMITS.items():  # before anything of that size is allocated
            require(getattr(self, name) <= most, name, f"at most {most:,}", getattr(self, name))
        for name in ["n_shared_experts", "first_k_dense_replace", "num_nextn_predict_layers"]:
            require(isinstance(getattr(self, name), int) and getattr(self, name) >= 0,
                     name, "an integer >= 0", getattr(self, name))
        require(self.q_lora_rank is None or (isinstance(self.q_lora_rank, int) and self.q_lora_rank > 0),
                 "q_lora_rank", "None or a positive integer", self.q_lora_rank)
        require(self.qk_rope_head_dim % 2 == 0, "qk_rope_head_dim", "an even integer", self.qk_rope_head_dim)
        require(self.n_routed_experts % self.n_group == 0, "n_group",
                 f"a divisor of n_routed_experts={self.n_routed_experts}", self.n_group)
        require(self.topk_group <= self.n_group, "topk_group", f"<= n_group={self.n_group}", self.topk_group)
        experts_per_group = self.n_routed_experts // self.n_group
        require(self.n_group == 1 or experts_per_group >= 2, "n_group",
                 "a value leaving >= 2 experts per group (group score = sum of the top-2)", self.n_group)
        require(self.num_experts_per_tok <= self.topk_group * experts_per_group, "num_experts_per_tok",
                 f"<= topk_group * experts per group = {self.topk_group * experts_per_group}",
                 self.num_experts_per_tok)
        require(self.rope_type in ROPE_TYPES, "rope_scaling.type", f"one of {ROPE_TYPES}", self.rope_type)
        if self.rope_type == "yarn":
            factor = self.rope_scaling.get("factor")
            require(isinstance(factor, (int, float)) and factor >= 1, "rope_scaling.factor",
                     "a number >= 1", factor)
        for name in ["rms_norm_eps", "initializer_range", "routed_scaling_factor", "rope_theta"]:
            require(getattr(self, name) > 0, name, "a positive number", getattr(self, name))
        for name in ["mtp_loss_weight", "balance_loss_alpha"]:
            require(getattr(self, name) >= 0, name, "a number >= 0", getattr(self, name))

    # ---- (de)serialisation --------------------------------------------------------------

    def to_hf_dict(self) -> dict[str, Any]:
        """`config.json` contents readable by transformers, vLLM, SGLang and llama.cpp's converter."""
        d = dataclasses.asdict(self)
        d.update(
            architectures=["DeepseekV3ForCausalLM"],
            model_type="deepseek_v3",
            num_key_value_heads=self.num_attention_heads,
            hidden_act="silu",
            # Without these, other runtimes silently fall back to softmax gating / plain top-k.
            scoring_func="sigmoid",
            topk_method="noaux_tc",
            attention_bias=False,
            attention_dropout=0.0,
            torch_dtype="float32",
            use_cache=True,
        )
        return d

    @classmethod
    def from_hf_dict(cls, d: dict[str, Any]) -> "ModelConfig":
        """Build from a `config.json` dict (ours or an official/transformers one); unknown keys are ignored."""
        scoring = d.get("scoring_func", "sigmoid")
        require(scoring == "sigmoid", "scoring_func", "'sigmoid' (DeepSeek-V3 routing)", scoring)
        return cls(**hf_fields(cls, d))

    def replace(self, **changes: Any) -> "ModelConfig":
        return dataclasses.replace(self, **changes)


# Far above any released DeepSeek model (vocabulary 129,280; 163,840 positions; width 7,168),
# low enough that a wrong config.json fails here instead of allocating hundreds of GB.
LIMITS = {"vocab_size": 1 << 21, "max_position_embeddings": 1 << 21, "hidden_size": 1 << 16,
          "intermediate_size": 1 << 18, "moe_intermediate_size": 1 << 18, "num_hidden_layers": 1 << 10,
          "num_attention_heads": 1 << 10, "n_routed_experts": 1 << 12}


def hf_fields(cls: type, d: dict[str, Any]) -> dict[str, Any]:
    """The fields of config dataclass `cls` found in a `config.json` dict (unknown keys dropped).
    transformers 5 writes `rope_parameters` (theta inside it) instead of rope_theta/rope_scaling."""
    d = dict(d)
    rope_params = d.pop("rope_parameters", None)
    if rope_params:
        d.setdefault("rope_theta", rope_params.get("rope_theta", cls.rope_theta))
        if rope_params.get("rope_type", "default") != "default" and not d.get("rope_scaling"):
            d["rope_scaling"] = {k: v for k, v in rope_params.items() if k != "rope_theta"}
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in d.items() if k in names}


def require(ok: bool, name: str, allowed: str, value: Any, owner: str = "ModelConfig") -> None:
    """A config check: `<owner>.<name> must be <allowed>, got <value>` when not ok."""
    if not ok:
        raise ValueError(f"{owner}.{name} must be {allowed}, got {value!r}")



# ---- presets ------------------------------------------------------------------------------


def tiny() -> ModelConfig:
    """For tests: every feature on (MoE with groups, MTP, q LoRA), builds and runs in milliseconds."""
    return ModelConfig(
        vocab_size=512, hidden_size=64, intermediate_size=128, moe_intermediate_size=32,
        num_hidden_layers=2, num_attention_heads=4, q_lora_rank=32, kv_lora_rank=32,
        qk_nope_head_dim=16, qk_rope_head_dim=8, v_head_dim=16, n_shared_experts=1,
        n_routed_experts=8, num_experts_per_tok=2, n_group=2, topk_group=1,
        first_k_dense_replace=1, routed_scaling_factor=2.5, max_position_embeddings=256,
        num_nextn_predict_layers=1,
    )


def reference() -> ModelConfig:
    """The benchmark reference config of the foundation issue (vocab 8192, hidden 256, 4 layers)."""
    return ModelConfig(
        vocab_size=8192, hidden_size=256, intermediate_size=768, moe_intermediate_size=256,
        num_hidden_layers=4, num_attention_heads=8, q_lora_rank=128, kv_lora_rank=64,
        qk_nope_head_dim=32, qk_rope_head_dim=16, v_head_dim=32, n_shared_experts=1,
        n_routed_experts=8, num_experts_per_tok=2, first_k_dense_replace=1,
        max_position_embeddings=2048,
    )


def speedrun() -> ModelConfig:
    """The default CPU run: a few million parameters, trains in minutes on 2 cores. Narrow
    because the budget is short of tokens, not of width: in the same time hidden 192 trains more
    tokens than hidden 256 and scored higher (docs/experiments.md, runs 44-49)."""
    return ModelConfig(
        vocab_size=4096, hidden_size=192, intermediate_size=576, moe_intermediate_size=144,
        num_hidden_layers=4, num_attention_heads=6, q_lora_rank=96, kv_lora_rank=64,
        qk_nope_head_dim=32, qk_rope_head_dim=16, v_head_dim=32, n_shared_experts=1,
        n_routed_experts=8, num_experts_per_tok=2, n_group=2, topk_group=2,
        first_k_dense_replace=1, routed_scaling_factor=1.0, max_position_embeddings=1024,
        num_nextn_predict_layers=1,
    )


PRESETS: dict[str, Callable[[], ModelConfig]] = {"tiny": tiny, "reference": reference, "speedrun": speedrun}


def preset(name: str) -> ModelConfig:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return PRESETS[name]()
