"""Logits parity with transformers' DeepseekV3ForCausalLM on random weights, both directions."""

import itertools

import pytest
import torch
import transformers

from nanoseek import Transformer
from nanoseek.config import tiny

transformers.logging.set_verbosity_error()

YARN = {"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64,
        "mscale": 1.0, "mscale_all_dim": 1.0, "beta_fast": 32, "beta_slow": 1}

# A covering grid: every value of every axis appears, with varied partners.
# (q_lora_rank, n_group/topk_group, first_k_dense_replace, yarn, rope_interleave, norm_topk_prob)
AXES = [
    [None, 32],
    [(1, 1), (4, 2)],
    [0, 1, 2],
    [False, True],
    [True, False],
    [True, False],
]
GRID = [combo for i, combo in enumerate(itertools.product(*AXES)) if i % 5 == 0]


def _config(q_lora, groups, dense, yarn, interleave, norm_topk):
    return tiny().replace(
        q_lora_rank=q_lora, n_group=groups[0], topk_group=groups[1], first_k_dense_replace=dense,
        rope_scaling=YARN if yarn else None, rope_interleave=interleave, norm_topk_prob=norm_topk,
        num_hidden_layers=3,
    )


def _randomise(model: torch.nn.Module, seed: int) -> None:
    """Large random weights (init-scale weights make every logit ~0 and parity trivial);
    biases that change which experts win."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1:
                p.copy_(torch.rand(p.shape, generator=g) + 0.5)
            else:
                p.copy_(torch.randn(p.shape, generator=g) * 0.2)
        for name, buf in model.named_buffers():
            if name.endswith("e_score_correction_bias"):
                buf.copy_(torch.rand(buf.shape, generator=g) * 0.1)


def _max_diff(ours: Transformer, theirs, seq_len: int) -> float:
    ids = torch.randint(0, ours.config.vocab_size, (2, seq_len), generator=torch.Generator().manual_seed(seq_len))
    with torch.no_grad():
        return (ours(ids) - theirs(ids).logits).abs().max().item()


@pytest.mark.parametrize("combo", GRID, ids=lambda c: "-".join(map(str, c)))
def test_we_save_transformers_loads(tmp_path, combo):
    ours = Transformer(_config(*combo)).eval()
    _randomise(ours, seed=hash(combo) % 1000)
    ours.save_pretrained(tmp_path)
    theirs = transformers.AutoModelForCausalLM.from_pretrained(tmp_path, dtype=torch.float32).eval()
    for seq_len in (1, 7, 40):
        assert _max_diff(ours, theirs, seq_len) <= 1e-4


@pytest.mark.parametrize("combo", GRID[::2], ids=lambda c: "-".join(map(str, c)))
def test_transformers_saves_we_load(tmp_path, combo):
    cfg = _config(*combo).replace(num_nextn_predict_layers=0)
    hf_config = transformers.DeepseekV3Config(**{
        k: v for k, v in cfg.to_hf_dict().items()
        if k not in ("mtp_loss_weight", "balance_loss_alpha", "scoring_func", "topk_method", "torch_dtype", "rope_scaling")
    } | {"rope_parameters": (YARN | {"rope_theta": cfg.rope_theta}) if cfg.rope_scaling else None})
    torch.manual_seed(0)
    theirs = transformers.DeepseekV3ForCausalLM(hf_config).eval()
    _randomise(theirs, seed=7)
    theirs.save_pretrained(tmp_path)
    ours = Transformer.from_pretrained(tmp_path).eval()
    assert ours.config.rope_type == cfg.rope_type
    for seq_len in (3, 33):
        assert _max_diff(ours, theirs, seq_len) <= 1e-4


def test_a_transformers_checkpoint_without_mtp_weights_loads_with_mtp_off(tmp_path):
    """transformers' DeepseekV3Config says num_nextn_predict_layers=1, its model has no MTP
    module, so what it saves has no MTP weights: load it without MTP, saying so once."""
    cfg = _config(None, (1, 1), 1, False, True, True)
    hf_config = transformers.DeepseekV3Config(**{
        k: v for k, v in cfg.to_hf_dict().items()
        if k not in ("mtp_loss_weight", "balance_loss_alpha", "scoring_func", "topk_method", "torch_dtype", "rope_scaling")
    })
    assert hf_config.num_nextn_predict_layers == 1
    theirs = transformers.DeepseekV3ForCausalLM(hf_config).eval()
    _randomise(theirs, seed=3)
    theirs.save_pretrained(tmp_path)
    with pytest.warns(UserWarning, match=r"asks for 1 MTP layer\(s\) but the checkpoint has no model\.layers\.3\.\*"):
        ours = Transformer.from_pretrained(tmp_path).eval()
    assert ours.config.num_nextn_predict_layers == 0 and len(ours.mtp) == 0
    assert _max_diff(ours, theirs, 9) <= 1e-4
