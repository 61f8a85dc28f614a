"""GRPO: the math against hand computations, reproducible rollouts, and a short run that learns."""

import math

import pytest
import torch

from nanoseek import Transformer
from nanoseek.config import tiny
from nanoseek.data.tasks import generate
from nanoseek.inference import Engine
from nanoseek.train.grpo import GRPOConfig, GRPOTrainer, train_grpo
from nanoseek.train.rl_algos import (
    ADVANTAGE_ESTIMATORS, KL_ESTIMATORS, POLICY_LOSSES, TOKEN_AGGREGATIONS, clipped_surrogate, group_advantages,
    kl_k3, token_entropy, token_logprobs, token_weights,
)
from nanoseek.train.rl_tasks import TaskPrompts, task_reward_fn
from nanoseek.train.rollout import RLPrompt, engine_logprobs, rollout
from train_fixtures import FakeTokenizer


# ---- math ---------------------------------------------------------------------------------------


def test_group_advantages_by_hand():
    # mean 0.25; centered [0.75, -0.25, -0.25, -0.25]; unbiased std sqrt(0.75 / 3) = 0.5
    adv = group_advantages(torch.tensor([[1.0, 0.0, 0.0, 0.0]]), eps=0.0)
    assert adv.tolist() == [[1.5, -0.5, -0.5, -0.5]]
    # Dr. GRPO: no std division
    assert group_advantages(torch.tensor([[1.0, 0.0, 0.0, 0.0]]), scale=False).tolist() == [[0.75, -0.25, -0.25, -0.25]]
    # a group that all scores the same carries no signal (and no NaN)
    assert group_advantages(torch.tensor([[0.7, 0.7, 0.7]])).tolist() == [[0.0, 0.0, 0.0]]
    # groups are independent
    both = group_advantages(torch.tensor([[1.0, 0.0, 0.0, 0.0], [2.0, 2.0, 0.0, 0.0]]), eps=0.0)
    std = math.sqrt(4 / 3)  # centered [1, 1, -1, -1]
    assert torch.allclose(both[1], torch.tensor([1, 1, -1, -1]) / std)


def test_kl_k3_by_hand():
    logp, ref = torch.log(torch.tensor([0.5, 0.3])), torch.log(torch.tensor([0.25, 0.3]))
    kl = kl_k3(logp, ref)
    # ref/pi = 0.5: 0.5 - ln(0.5) - 1 = 0.193147...; equal probabilities: exactly 0
    assert kl[0].item() == pytest.approx(0.5 - math.log(0.5) - 1, abs=1e-6)
    assert kl[1].item() == 0.0
    # never negative, and its expectation over pi is KL(pi || ref) (here a 2-token distribution)
    pi, q = torch.tensor([0.6, 0.4]), torch.tensor([0.3, 0.7])
    k3 = kl_k3(pi.log(), q.log())
    assert (k3 >= 0).all()
    assert (pi * k3).sum().item() == pytest.approx((pi * (pi / q).log()).sum().item(), abs=1e-6)


def test_clipped_surrogate_by_hand():
    old = torch.zeros(4)
    logp = torch.log(torch.tensor([1.5, 0.5, 0.5, 1.5]))  # ratios
    adv = torch.tensor([1.0, 1.0, -1.0, -1.0])
    loss, clipped = clipped_surrogate(logp, old, adv, 0.2, 0.2)
    # r=1.5, A=+1: min(1.5, 1.2) = 1.2 (clipped) | r=0.5, A=+1: min(0.5, 0.8) = 0.5
    # r=0.5, A=-1: min(-0.5, -0.8) = -0.8 (clipped) | r=1.5, A=-1: min(-1.5, -1.2) = -1.5
    assert loss.tolist() == pytest.approx([-1.2, -0.5, 0.8, 1.5], abs=1e-6)
    assert clipped.tolist() == [True, False, True, False]
    # DAPO clip-higher: the upper bound moves, the lower one stays
    loss, _ = clipped_surrogate(logp, old, adv, 0.2, 0.28)
    assert loss.tolist() == pytest.approx([-1.28, -0.5, 0.8, 1.5], abs=1e-6)


def test_clipped_surrogate_gradient_is_advantage_on_policy():
    logp = torch.tensor([-1.0, -2.0], requires_grad=True)
    adv = torch.tensor([2.0, -3.0])
    loss, _ = clipped_surrogate(logp, logp.detach(), adv, 0.2, 0.2)
    loss.sum().backward()
    assert logp.grad.tolist() == [-2.0, 3.0]  # d(-r A)/d logp = -A at r = 1


def test_token_weights_by_hand():
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]], dtype=torch.bool)
    assert token_weights(mask, "sequence", 4).tolist() == [[0.25, 0.25, 0.0], [0.5, 0.0, 0.0]]
    assert torch.allclose(token_weights(mask, "token", 4), torch.tensor([[1, 1, 0], [1, 0, 0]]) / 3)
    assert token_weights(mask, "constant", 4).tolist() == [[0.125, 0.125, 0.0], [0.125, 0.0, 0.0]]
    # a rank's share of a larger batch: the per-rank mean counts set the divisors
    assert token_weights(mask, "token", 4, tokens=4.0).tolist() == [[0.25, 0.25, 0.0], [0.25, 0.0, 0.0]]
    assert token_weights(mask, "sequence", 4, samples=4.0).tolist() == [[0.125, 0.125, 0.0], [0.25, 0.0, 0.0]]


def test_every_choice_is_registered_by_name():
    assert list(ADVANTAGE_ESTIMATORS) == ["grpo", "mean"] and ADVANTAGE_ESTIMATORS["grpo"] is group_advantages
    assert list(POLICY_LOSSES) == ["clip", "no-clip"] and POLICY_LOSSES["clip"] is clipped_surrogate
    assert list(KL_ESTIMATORS) == ["k3"] and KL_ESTIMATORS["k3"] is kl_k3
    assert list(TOKEN_AGGREGATIONS) == ["sequence", "token", "constant"]
    with pytest.raises(ValueError, match=r"kl_estimator must be one of \('k3',\), got 'k9'"):
        GRPOConfig(kl_estimator="k9")


def test_token_logprobs_match_log_softmax():
    torch.manual_seed(0)
    model = Transformer(tiny().replace(initializer_range=0.1)).eval()
    ids = torch.tensor([[3, 9, 27, 81]])
    logits = model(ids[:, :-1])
    logp, entropy = token_logprobs(logits, ids[:, 1:]), token_entropy(logits)
    full = model(ids).log_softmax(-1)
    assert torch.allclose(logp[0], torch.stack([full[0, t, ids[0, t + 1]] for t in range(3)]))
    assert torch.allclose(entropy[0], -(full[0, :3].exp() * full[0, :3]).sum(-1))


def test_engine_logprobs_layout():
    mask = torch.tensor([[False, True, True, False], [False, False, True, True]])
    out = engine_logprobs([[-1.0, -2.0], [-3.0, -4.0]], mask)
    assert out.tolist() == [[0, -1, -2, 0], [0, 0, -3, -4]]


# ---- rollouts and training ------------------------------------------------------------------------

V = 16  # a 16-token vocabulary: every token is sampled often, so a token-level reward is learnable


class RandomPrompts:
    def sample(self, step, n, start=0):
        g = torch.Generator().manual_seed(step + 7919 * start)
        return [RLPrompt(torch.randint(4, V, (6,), generator=g).tolist()) for _ in range(n)]

    def observe(self, prompts, parts):
        pass


def count_threes(prompt, completion):
    return {"reward": sum(t == 3 for t in completion) / max(1, len(completion))}


def small_model(seed=0, vocab=V):
    torch.manual_seed(seed)
    return Transformer(tiny().replace(vocab_size=vocab))


def test_rollout_reproducible_by_seed():
    model = small_model()
    engine = Engine(model, max_slots=16, max_len=32)
    prompts = RandomPrompts().sample(0, 2)
    kw = dict(max_new_tokens=8, temperature=1.0)
    a = rollout(engine, prompts, count_threes, 4, seed=1, **kw)
    b = rollout(Engine(model, max_slots=3, max_len=32), prompts, count_threes, 4, seed=1, **kw)
    c = rollout(engine, prompts, count_threes, 4, seed=2, **kw)
    assert a.completions == b.completions != c.completions  # batching does not matter, the seed does
    assert torch.equal(a.rewards, b.rewards) and a.rewards.shape == (2, 4)
    assert len({tuple(x) for x in a.completions}) > 1  # samples within a group differ


def test_short_run_raises_reward():
    """Reward = share of token 3 in the completion (1/16 at the start); 8 steps of GRPO."""
    model = small_model()
    cfg = GRPOConfig(steps=8, prompts_per_step=4, group_size=8, max_new_tokens=8, lr=1e-2, beta=0.0, log_every=0)
    history = train_grpo(model, cfg, RandomPrompts(), count_threes, stop_token_ids=()).history
    first, last = history[0]["reward"], sum(m["reward"] for m in history[-3:]) / 3
    assert first < 0.15 and last > first + 0.3, [m["reward"] for m in history]
    assert all(m["kl"] >= 0 for m in history)
    assert history[-1]["entropy"] < history[0]["entropy"]


def test_inner_updates_with_kl_and_engine_logprobs():
    """Several inner updates: the ratio moves away from 1 (clipping can act) and KL is charged."""
    model = small_model()
    cfg = GRPOConfig(steps=2, prompts_per_step=2, group_size=4, max_new_tokens=6, lr=1e-2, inner_updates=3,
                     beta=0.1, old_logprobs="engine", loss_norm="token", scale_rewards=False, log_every=0)
    history = train_grpo(model, cfg, RandomPrompts(), count_threes, stop_token_ids=()).history
    assert history[-1]["ratio_dev"] > 0 and history[-1]["kl"] > 0
    assert all(math.isfinite(m["loss"]) for m in history)


def test_reference_reset():
    model = small_model()
    cfg = GRPOConfig(steps=2, prompts_per_step=2, group_size=4, max_new_tokens=4, lr=1e-2, ref_reset_every=1,
                     log_every=0)
    trainer = GRPOTrainer(model, cfg, RandomPrompts(), count_threes, stop_token_ids=())
    trainer.train_step()
    assert not torch.equal(trainer.reference.lm_head.weight, model.lm_head.weight)
    trainer.prompts.sample = lambda step, n, start=0: RandomPrompts().sample(step, n, start)
    trainer.train_step()  # resets the reference to the policy first, then updates the policy
    assert trainer.reference.lm_head.weight.requires_grad is False


# ---- task prompts, curriculum and rewards ----------------------------------------------------------


def test_task_prompts_deterministic_and_curriculum():
    src = TaskPrompts(FakeTokenizer(), ["addition", "logic"], ["en", "zh"], seed=3, promote_at=0.5)
    a, b = src.sample(4, 3), src.sample(4, 3)
    assert [p.problem for p in a] == [p.problem for p in b]
    assert all(p.problem.difficulty == 1 for p in a)
    family = a[0].problem.family
    solved = {"accuracy": torch.ones(1, 4)}
    src.observe(a[:1], solved)
    assert src.level[family] == 2
    assert all(p.problem.difficulty == 2 for p in src.sample(5, 8) if p.problem.family == family)
    restored = TaskPrompts(FakeTokenizer(), ["addition", "logic"], ["en", "zh"], seed=3, promote_at=0.5)
    restored.load_state_dict(src.state_dict())  # what a checkpoint carries
    assert [p.problem for p in restored.sample(6, 8)] == [p.problem for p in src.sample(6, 8)]
    assert restored.level[family] == 2


def test_a_step_of_solved_prompts_promotes_one_level_not_to_the_top():
    src = TaskPrompts(FakeTokenizer(), ["addition"], ["en"], seed=3, promote_at=0.5)
    prompts = src.sample(0, 8)  # all level 1
    src.observe(prompts, {"accuracy": torch.ones(8, 4)})
    assert src.level["addition"] == 2 and src.accuracy["addition"] is None  # level 2 not yet measured
    src.observe(src.sample(1, 2), {"accuracy": torch.ones(2, 4)})
    assert src.level["addition"] == 3


def test_curriculum_stops_at_max_difficulty():
    src = TaskPrompts(FakeTokenizer(), ["addition"], ["en"], seed=3, promote_at=0.5, max_difficulty=2)
    for step in range(4):
        src.observe(src.sample(step, 1), {"accuracy": torch.ones(1, 4)})
    assert src.level["addition"] == 2
    with pytest.raises(ValueError, match="max_difficulty"):
        GRPOConfig(difficulty=3, max_difficulty=2)


def test_config_validation_names_the_field():
    with pytest.raises(ValueError, match="loss_norm"):
        GRPOConfig(loss_norm="mean")
    with pytest.raises(ValueError, match="group_size"):
        GRPOConfig(group_size=1)
    with pytest.raises(ValueError, match="families"):
        GRPOConfig(families=("nope",))


def test_task_reward_parts():
    class Tok:
        eos_id = 1

        def decode(self, ids):
            return {7: "3 + 4 = 7\n</think>\n\nThe answer is \\boxed{7}.", 8: "no idea"}[ids[0]]

    p = generate("addition", 1, seed=0)[0]
    good_text = f"{p.answer}\n</think>\n\n\\boxed{{{p.answer}}}"

    class Tok2(Tok):
        def decode(self, ids):
            return good_text if ids[0] == 7 else "no idea"

    fn = task_reward_fn(Tok2())
    good, bad = fn(RLPrompt([0], p), [7, 1]), fn(RLPrompt([0], p), [8])
    assert good["accuracy"] == 1.0 and good["format"] == 1.0
    assert good["reward"] == pytest.approx(1.0 + 0.2 + 0.1 * good["language"])
    assert bad["accuracy"] == 0.0 and bad["format"] == 0.0


def test_no_signal_no_update_without_kl():
    """beta = 0 and every group scoring alike: nothing to learn, so no forward and no step."""
    model = small_model()
    before = model.lm_head.weight.clone()
    cfg = GRPOConfig(steps=1, prompts_per_step=2, group_size=4, max_new_tokens=4, beta=0.0, log_every=0)
    m = train_grpo(model, cfg, RandomPrompts(), lambda p, c: {"reward": 1.0}, stop_token_ids=()).history[0]
    assert m["trained_samples"] == 0 and m["zero_std_groups"] == 1.0
    assert torch.equal(model.lm_head.weight, before)


def test_nan_steps_are_skipped_then_the_run_aborts():
    """The trainer's finite check: a NaN reward poisons the loss, so no update is applied, and
    after max_bad_steps such steps in a row the run stops with TrainingDiverged."""
    from nanoseek.train import TrainingDiverged

    model = small_model()
    before = model.lm_head.weight.clone()
    cfg = GRPOConfig(steps=8, prompts_per_step=1, group_size=2, max_new_tokens=2, log_every=0)
    with pytest.warns(RuntimeWarning, match="skipped the update"), \
            pytest.raises(TrainingDiverged, match="5 steps in a row"):
        train_grpo(model, cfg, RandomPrompts(), lambda p, c: {"reward": float("nan")}, stop_token_ids=())
    assert torch.equal(model.lm_head.weight, before)
