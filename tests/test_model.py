"""Behaviour of the model's parts: MLA paths, routing, balancing, MTP, gradients."""

import math

import pytest
import torch
import torch.nn.functional as F

from nanoseek import ModelConfig, Transformer
from nanoseek.config import preset, tiny
from nanoseek.model.moe import MoE, RoutedExperts, sequence_balance_loss
from nanoseek.model.rope import apply_rope, softmax_scale


def _model(cfg: ModelConfig | None = None, seed: int = 0, std: float = 0.1) -> Transformer:
    torch.manual_seed(seed)
    model = Transformer((cfg or tiny()).replace(initializer_range=std))
    return model.eval()


class ConcatCache:
    """The simplest LatentCache: keeps every latent, attends causally (the engine's is preallocated)."""

    def __init__(self):
        self.latents = None

    def update(self, latents):
        self.latents = latents if self.latents is None else torch.cat([self.latents, latents], 1)
        s, t = self.latents.shape[1], latents.shape[1]
        mask = torch.ones(t, s, dtype=torch.bool).tril(diagonal=s - t)
        return self.latents, mask[None, None]


# ---- MLA -------------------------------------------------------------------------------------


@pytest.mark.parametrize("q_lora_rank", [None, 32])
def test_absorbed_attention_equals_expanded(q_lora_rank):
    model = _model(tiny().replace(q_lora_rank=q_lora_rank))
    ids = torch.randint(0, 512, (2, 19))
    with torch.no_grad():
        expanded = model(ids)
        absorbed = model(ids, absorb=True)
    assert (expanded - absorbed).abs().max().item() < 1e-5


def test_incremental_absorbed_decode_equals_full_forward():
    model = _model()
    ids = torch.randint(0, 512, (1, 12))
    caches = [ConcatCache() for _ in model.layers]
    with torch.no_grad():
        full = model(ids)
        prefix = model(ids[:, :5], caches=caches)  # prefill, expanded path
        steps = [model(ids[:, t : t + 1], positions=torch.tensor([[t]]), caches=caches, absorb=True)
                 for t in range(5, 12)]
    incremental = torch.cat([prefix, *steps], dim=1)
    assert (incremental - full).abs().max().item() < 1e-5


def test_latent_cache_holds_kv_lora_rank_plus_rope_dim_per_token():
    cfg = preset("reference")
    attn = Transformer(cfg).layers[0].self_attn
    x = torch.randn(1, 3, cfg.hidden_size)
    cos, sin = torch.ones(1, 3, cfg.qk_rope_head_dim // 2), torch.zeros(1, 3, cfg.qk_rope_head_dim // 2)
    assert attn.latents(x, cos, sin).shape == (1, 3, cfg.kv_lora_rank + cfg.qk_rope_head_dim) == (1, 3, 80)


def test_rope_interleave_rotates_adjacent_pairs():
    x = torch.tensor([1.0, 2.0, 3.0, 4.0])
    cos, sin = torch.tensor([0.0, 1.0]), torch.tensor([1.0, 0.0])  # 90 degrees, then 0 degrees
    # interleaved pairs (1,2) and (3,4); result in halves layout [x1', x2'].
    assert apply_rope(x, cos, sin, interleave=True).tolist() == [-2.0, 3.0, 1.0, 4.0]
    # halves pairs (1,3) and (2,4)
    assert apply_rope(x, cos, sin, interleave=False).tolist() == [-3.0, 2.0, 1.0, 4.0]


def test_yarn_scales_softmax_by_mscale_squared():
    yarn = {"type": "yarn", "factor": 40.0, "mscale": 1.0, "mscale_all_dim": 1.0,
            "original_max_position_embeddings": 64}
    cfg = tiny().replace(rope_scaling=yarn)
    mscale = 0.1 * math.log(40.0) + 1
    assert softmax_scale(cfg) == pytest.approx(cfg.qk_head_dim**-0.5 * mscale**2)
    assert softmax_scale(tiny()) == pytest.approx(tiny().qk_head_dim**-0.5)


# ---- routing and balancing --------------------------------------------------------------------


def _moe(**changes) -> MoE:
    torch.manual_seed(0)
    cfg = tiny().replace(**changes)
    moe = MoE(cfg)
    for p in moe.parameters():
        torch.nn.init.normal_(p, std=0.2)
    return moe


@pytest.mark.parametrize("tokens", [1, 3, 50])  # gathered (decode-sized) and sorted dispatch
def test_routed_experts_equal_a_loop_over_experts(tokens):
    moe = _moe()
    x = torch.randn(tokens, 64, requires_grad=True)
    weights, idx = torch.rand(tokens, 2), torch.randint(0, 8, (tokens, 2))
    fast = moe.experts(x, weights, idx)
    experts: RoutedExperts = moe.experts
    slow = torch.zeros_like(x)
    for token in range(tokens):
        for slot in range(2):
            e = idx[token, slot]
            gate, up = (experts.gate_up_proj[e] @ x[token]).chunk(2)
            slow[token] += weights[token, slot] * (experts.down_proj[e] @ (F.silu(gate) * up))
    assert (fast - slow).abs().max().item() < 1e-5
    grads_fast = torch.autograd.grad(fast.square().sum(), [x, experts.gate_up_proj, experts.down_proj])
    grads_slow = torch.autograd.grad(slow.square().sum(), [x, experts.gate_up_proj, experts.down_proj])
    for a, b in zip(grads_fast, grads_slow):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-3)  # gradients are O(100)


def test_bias_changes_selection_but_not_gate_weights():
    moe = _moe(n_group=1, topk_group=1, norm_topk_prob=True, routed_scaling_factor=1.0)
    x = torch.randn(30, 64)
    moe.gate.e_score_correction_bias[3] = 10.0  # expert 3 always wins a slot
    scores, weights, idx = moe.gate(x)
    assert (idx == 3).any(dim=1).all()
    chosen = scores.gather(1, idx)
    assert torch.allclose(weights, chosen / chosen.sum(1, keepdim=True))  # unbiased scores


def test_group_limited_routing_stays_within_topk_groups():
    moe = _moe(n_group=4, topk_group=1)  # 8 experts: groups {0,1} {2,3} {4,5} {6,7}
    _, _, idx = moe.gate(torch.randn(100, 64))
    assert (idx[:, 0] // 2 == idx[:, 1] // 2).all()


def test_balance_loss_equals_hand_computation():
    # One sequence, T=2 tokens, E=4 experts, K=1.
    scores = torch.tensor([[[0.5, 0.25, 0.25, 0.0], [0.2, 0.2, 0.2, 0.4]]])
    idx = torch.tensor([[[0], [3]]])
    # f = E/(K*T) * counts = 2 * [1, 0, 0, 1]; P = mean of normalised scores = [0.35, 0.225, 0.225, 0.2]
    expected = 2 * 0.35 + 2 * 0.2
    assert sequence_balance_loss(scores, idx).item() == pytest.approx(expected)


def test_bias_update_moves_loads_toward_uniform():
    moe = _moe(n_group=1, topk_group=1)
    direction = F.normalize(torch.randn(64), dim=0)
    with torch.no_grad():
        moe.gate.weight[:2] = 3 * direction  # experts 0 and 1 win every token at first
    moe.train()
    x = direction + torch.randn(4, 64, 64) / 8**0.5

    def imbalance() -> float:
        moe.expert_load.zero_()
        with torch.no_grad():
            moe(x)
        return (moe.expert_load.max() / moe.expert_load.mean()).item()

    history = []
    for _ in range(300):
        history.append(imbalance())
        moe.update_bias(gamma=0.01)
    assert history[0] > 3.9  # nearly every token on experts 0 and 1: max/mean = 4
    # A fixed step size makes the loads oscillate around uniform rather than settle on it.
    assert sum(history[-50:]) / 50 < 1.5


def test_update_router_bias_resets_loads_and_uses_sign_rule():
    model = _model()
    moe = model.moe_layers()[0]
    moe.expert_load.copy_(torch.tensor([10.0, 0, 0, 0, 0, 0, 0, 6]))  # mean 2
    model.update_router_bias(gamma=0.5)
    assert moe.gate.e_score_correction_bias.tolist() == [-0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, -0.5]
    assert moe.expert_load.sum().item() == 0


# ---- training forward --------------------------------------------------------------------------


def test_loss_parts_combine_with_lambda_and_alpha():
    model = _model(tiny().replace(mtp_loss_weight=0.3, balance_loss_alpha=0.01)).train()
    ids = torch.randint(0, 512, (2, 16))
    out = model(ids[:, :-1], labels=ids[:, 1:])
    assert out.loss.item() == pytest.approx(out.ce.item() + 0.3 * out.mtp.item() + 0.01 * out.balance.item(), rel=1e-6)
    with torch.no_grad():
        logits = model(ids[:, :-1])
    assert out.ce.item() == pytest.approx(F.cross_entropy(logits.flatten(0, 1), ids[:, 1:].flatten()).item(), rel=1e-5)


def test_mtp_depth_predicts_the_token_after_next():
    """With all labels ignored but those k ahead of position 0, only that MTP target contributes."""
    model = _model()
    ids = torch.randint(0, 512, (1, 8))
    labels = torch.full((1, 8), -100)
    labels[0, 0] = 5  # main target of position 0
    labels[0, 1] = 9  # main target of position 1 and MTP-1 target of position 0
    out = model(ids, labels=labels)
    with torch.no_grad():
        h, _ = model.hidden_states(ids)
        _, mtp_logits = model.mtp_forward(0, h[:, :-1], ids[:, 1:], torch.arange(7)[None])
    expected = F.cross_entropy(mtp_logits[0, :1], torch.tensor([9]))
    assert out.mtp.item() == pytest.approx(expected.item(), rel=1e-5)


def test_gradients_reach_every_parameter_but_not_the_router_bias():
    model = _model(tiny().replace(n_group=1, topk_group=1)).train()
    ids = torch.randint(0, 512, (4, 64))
    model(ids[:, :-1], labels=ids[:, 1:]).loss.backward()
    no_grad = [n for n, p in model.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert no_grad == []
    biases = [n for n, _ in model.named_buffers() if n.endswith("e_score_correction_bias")]
    assert len(biases) == 2 and not any(n in dict(model.named_parameters()) for n in biases)


def test_initialisation_uses_initializer_range():
    model = Transformer(preset("reference").replace(initializer_range=0.006))
    assert model.layers[0].mlp.up_proj.weight.std().item() == pytest.approx(0.006, rel=0.05)
    assert model.norm.weight.eq(1).all()


# ---- config --------------------------------------------------------------------------------------


@pytest.mark.parametrize("field,value,words", [
    ("n_group", 3, "n_group must be a divisor of n_routed_experts=8"),
    ("topk_group", 5, "topk_group must be <= n_group"),
    ("q_lora_rank", 0, "q_lora_rank must be None or a positive integer"),
    ("qk_rope_head_dim", 7, "qk_rope_head_dim must be an even integer"),
    ("num_experts_per_tok", 9, "num_experts_per_tok must be <="),
    ("rope_scaling", {"type": "linear"}, "rope_scaling.type must be one of"),
])
def test_bad_config_values_name_the_field(field, value, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(")):
        tiny().replace(**{field: value})


def test_unknown_preset_lists_the_choices():
    with pytest.raises(ValueError, match=r"unknown preset 'huge'; choose one of \['reference', 'speedrun', 'tiny'\]"):
        preset("huge")


def test_batch_without_targets_gives_zero_loss_not_nan():
    model = _model().train()
    ids = torch.randint(0, 512, (2, 8))
    out = model(ids, labels=torch.full((2, 8), -100))
    assert out.ce.item() == 0.0 and out.mtp.item() == 0.0
    out.loss.backward()  # and the gradient is finite
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_training_flops_count_the_mtp_modules_only_when_they_run():
    cfg = tiny()
    model = Transformer(cfg)
    seq = 64
    no_mtp = Transformer(cfg.replace(num_nextn_predict_layers=0))
    assert no_mtp.flops_per_token(seq) == no_mtp.flops_per_token(seq, mtp=False)
    assert model.flops_per_token(seq, mtp=False) == no_mtp.flops_per_token(seq)  # the main model alone
    # With MTP: each depth's weights (a token uses K of the E routed experts), one more causal
    # attention layer, and one more pass through the shared output head.
    skipped = sum(p.numel() for n, p in model.mtp.named_parameters() if ".experts." in n) * (
        cfg.n_routed_experts - cfg.num_experts_per_tok) / cfg.n_routed_experts
    weights = sum(p.numel() for p in model.mtp.parameters()) - skipped + cfg.vocab_size * cfg.hidden_size
    attention = 3 * 2 * cfg.num_attention_heads * (cfg.qk_head_dim + cfg.v_head_dim) * (seq + 1) / 2
    extra = model.flops_per_token(seq) - model.flops_per_token(seq, mtp=False)
    assert cfg.num_nextn_predict_layers == 1 and extra == pytest.approx(6 * weights + attention, rel=1e-12)
