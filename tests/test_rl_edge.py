"""RL at the edge of competence: the nanochat preset's math, the pass-rate window, dynamic
sampling, and the RL report's per-family table and pass-rate plot."""

import json

import pytest
import torch

from nanoseek import Transformer
from nanoseek.config import tiny
from nanoseek.data.rewards import RewardWeights
from nanoseek.data.tasks import generate
from nanoseek.eval.evaluate import score
from nanoseek.eval.report import held_out_reward, plot_grpo, plot_pass_rates, rl_table
from nanoseek.eval.stats import wilson_interval
from nanoseek.train.grpo import PRESETS, GRPOConfig, train_grpo
from nanoseek.train.rl_algos import ADVANTAGE_ESTIMATORS, POLICY_LOSSES, mean_baseline, unclipped_surrogate
from nanoseek.train.rl_tasks import PassRates, TaskPrompts, task_reward_fn
from nanoseek.train.rollout import RLPrompt
from train_fixtures import FakeTokenizer

# ---- the nanochat preset --------------------------------------------------------------------------


def test_mean_baseline_by_hand():
    rewards = torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.5, 0.5, 0.5, 0.5]])
    assert mean_baseline(rewards).tolist() == [[0.75, -0.25, -0.25, -0.25], [0.0, 0.0, 0.0, 0.0]]
    assert ADVANTAGE_ESTIMATORS["mean"](rewards, True).tolist() == mean_baseline(rewards).tolist()  # never scaled


def test_unclipped_surrogate_by_hand():
    logp = torch.log(torch.tensor([1.5, 0.5])).requires_grad_()
    loss, clipped = unclipped_surrogate(logp, torch.zeros(2), torch.tensor([1.0, -2.0]), 0.2, 0.2)
    assert loss.tolist() == pytest.approx([-1.5, 1.0], abs=1e-6)  # -r A, no clip at r = 1.5
    assert clipped.tolist() == [False, False]
    on_policy = torch.tensor([-1.0, -2.0], requires_grad=True)
    POLICY_LOSSES["no-clip"](on_policy, on_policy.detach(), torch.tensor([2.0, -3.0]), 0.2, 0.2)[0].sum().backward()
    assert on_policy.grad.tolist() == [-2.0, 3.0]  # REINFORCE's -A d(log pi)


def test_presets():
    nanochat = GRPOConfig.preset("nanochat")
    assert (nanochat.advantage, nanochat.policy_loss, nanochat.beta, nanochat.loss_norm, nanochat.inner_updates,
            nanochat.temperature, nanochat.scale_rewards) == ("mean", "no-clip", 0.0, "token", 1, 1.0, False)
    assert GRPOConfig.preset("default") == GRPOConfig()
    assert GRPOConfig.preset("nanochat", beta=0.01).beta == 0.01  # options given win over the preset
    base = GRPOConfig(prompts_per_step=4, beta=0.5)
    edge = base.with_preset("edge")  # the preset wins over the base, the rest is kept
    assert (edge.pass_window, edge.dynamic_sampling, edge.prompts_per_step, edge.beta) == ((0.1, 0.9), True, 4, 0.5)
    assert set(PRESETS) == {"default", "nanochat", "edge"}
    with pytest.raises(ValueError, match=r"preset must be one of \('default', 'nanochat', 'edge'\), got 'x'"):
        GRPOConfig.preset("x")
    with pytest.raises(ValueError, match="pass_window"):
        GRPOConfig(pass_window=(0.9, 0.1))


# ---- the pass-rate window ----------------------------------------------------------------------------


def test_pass_rates_mean_then_moving_average():
    rates = PassRates(horizon=2)
    for value in (1.0, 0.0, 0.0):
        rates.update("addition/1", value)
    assert rates.rate == {"addition/1": 0.25} and rates.count == {"addition/1": 3}  # 1, then 0.5, then 0.5 - 0.5/2
    assert not rates.inside("addition/1", (0.3, 0.9)) and rates.inside("addition/1", (0.25, 0.9))
    assert rates.inside("addition/2", (0.3, 0.9))  # never measured: inside


def _solved(level, acc):
    problem = generate("addition", 1, seed=0, difficulty=level)[0]
    return [RLPrompt([0], problem)], {"accuracy": torch.full((1, 4), acc)}


def _levels(src, step, n=24):
    return {p.problem.difficulty for p in src.sample(step, n)}


def test_window_samples_the_cells_inside_then_falls_back_to_the_curriculum():
    src = TaskPrompts(FakeTokenizer(), ["addition"], ["en"], seed=3, max_difficulty=3, window=(0.2, 0.8),
                      explore=0.0, promote_at=0.6)
    assert _levels(src, 0) == {1, 2, 3}  # nothing measured: every cell is inside
    src.observe(*_solved(1, 1.0))  # level 1 always solved, level 3 never: both leave the window
    src.observe(*_solved(3, 0.0))
    assert src.inside() == ["addition/2"] and _levels(src, 1) == {2}
    assert src.level["addition"] == 2  # the curriculum promoted on its own level's result
    src.observe(*_solved(2, 1.0))
    assert src.inside() == [] and src.level["addition"] == 3
    assert _levels(src, 2) == {3}  # no cell inside: the curriculum's level
    explore = TaskPrompts(FakeTokenizer(), ["addition"], ["en"], seed=3, max_difficulty=3, window=(0.2, 0.8),
                          explore=1.0)
    explore.load_state_dict(src.state_dict())
    assert _levels(explore, 2) == {1, 2, 3}  # exploring draws from every cell
    assert explore.pass_rates.rate == {"addition/1": 1.0, "addition/3": 0.0, "addition/2": 1.0}


def test_window_keeps_the_families_balanced_and_resumes_exactly():
    src = TaskPrompts(FakeTokenizer(), ["addition", "calendar"], ["en"], seed=1, max_difficulty=2, window=(0.2, 0.8),
                      explore=0.0)
    for level in (1, 2):
        src.observe(*_solved(level, 1.0))  # addition has nothing inside: calendar only
    assert {p.problem.family for p in src.sample(0, 16)} == {"calendar"}
    restored = TaskPrompts(FakeTokenizer(), ["addition", "calendar"], ["en"], seed=1, max_difficulty=2,
                           window=(0.2, 0.8), explore=0.0)
    restored.load_state_dict(src.state_dict())
    assert [p.problem for p in restored.sample(5, 8, start=3)] == [p.problem for p in src.sample(5, 8, start=3)]
    assert [p.problem for p in src.sample(5, 4, start=3)] == [p.problem for p in src.sample(5, 7)[3:]]


def test_task_reward_with_partial_credit():
    p = generate("addition", 1, seed=0, difficulty=3)[0]  # a sum of several digits
    wrong = p.answer[:-1] + str((int(p.answer[-1]) + 1) % 10)  # the units digit off

    class Tok:
        eos_id = 1

        def decode(self, ids):
            return f"{p.answer}\n</think>\n\n\\boxed{{{wrong}}}"

    parts = task_reward_fn(Tok(), RewardWeights(partial=0.5))(RLPrompt([0], p), [7])
    assert parts["accuracy"] == 0.0 and parts["partial"] == (len(p.answer) - 1) / len(p.answer) > 0
    assert parts["reward"] == pytest.approx(0.2 * parts["format"] + 0.1 * parts["language"] + 0.5 * parts["partial"])
    assert "partial" not in task_reward_fn(Tok())(RLPrompt([0], p), [7])


# ---- dynamic sampling ------------------------------------------------------------------------------

V = 16


class IndexedPrompts:
    """Prompt i of a step starts with 4 + i % 4, which the rewards below read."""

    def __init__(self):
        self.observed = []

    def sample(self, step, n, start=0):
        return [RLPrompt([4 + i % 4, 6 + step % 4, 7]) for i in range(start, start + n)]

    def observe(self, prompts, parts):
        self.observed.append(len(prompts))


def _run(informative, **kw):
    """One step where only the prompts i with i % 4 in `informative` get unequal rewards."""

    def reward(prompt, completion):
        return {"reward": float(sum(completion)) if prompt.ids[0] - 4 in informative else 1.0}

    torch.manual_seed(0)
    model = Transformer(tiny().replace(vocab_size=V))
    prompts = IndexedPrompts()
    cfg = GRPOConfig(**{**dict(steps=1, prompts_per_step=4, group_size=4, max_new_tokens=6, log_every=0), **kw})
    return train_grpo(model, cfg, prompts, reward, stop_token_ids=()).history[0], prompts.observed


def counts(m):
    return m["groups_drawn"], m["groups_kept"], m["groups_dropped"], m["sampling_rounds"]


def test_dynamic_sampling_refills_dropped_groups_up_to_the_round_cap():
    # one prompt in four has signal: rounds of 4 prompts keep 1 each, and the cap stops at 3 rounds
    m, observed = _run({1}, dynamic_sampling=True, max_refill_rounds=2)
    assert counts(m) == (12, 3, 9, 3) and observed == [4, 4, 4] and m["trained_samples"] == 3 * 4
    assert m["zero_std_groups"] == pytest.approx(9 / 12)  # the rollout numbers cover every group drawn
    m, observed = _run({1}, dynamic_sampling=True, max_refill_rounds=0)
    assert counts(m) == (4, 1, 3, 1) and m["trained_samples"] == 4
    m, observed = _run({1})
    assert "groups_drawn" not in m and observed == [4] and m["trained_samples"] == 16


def test_dynamic_sampling_keeps_the_first_groups_up_to_a_full_batch():
    # three in four have signal: 3 kept in round 0, then the first of round 1's; its other two are surplus
    m, observed = _run({1, 2, 3}, dynamic_sampling=True)
    assert counts(m) == (8, 4, 4, 2) and observed == [4, 4] and m["trained_samples"] == 16


# ---- the report -------------------------------------------------------------------------------------


def _eval(correct):
    problems = generate("addition", len(correct), seed=0, split="eval")
    texts = [[f"7 + 5\n</think>\n\n\\boxed{{{p.answer}}}" if ok else "no idea"] for p, ok in zip(problems, correct)]
    return score(problems, texts)


def test_held_out_reward_and_its_interval():
    r = _eval([True, False])  # pass@1 0.5, format 0.5, language 1.0 (no words of any language)
    value, (lo, hi) = held_out_reward(r, RewardWeights())
    assert value == pytest.approx(0.5 + 0.2 * 0.5 + 0.1)
    expected = wilson_interval(0.7 / 1.3, 2)
    assert (lo, hi) == pytest.approx((expected[0] * 1.3, expected[1] * 1.3))


def _cell(value, top, n, digits):
    lo, hi = wilson_interval(value / top, n)
    return f"{value:.{digits}f} [{lo * top:.{digits}f}, {hi * top:.{digits}f}]"


def test_rl_table_rows():
    before, after = _eval([False, False]), _eval([True, True])  # reward 0 + 0 + 0.1, then 1 + 0.2 + 0.1
    lines = rl_table(before, after, RewardWeights()).splitlines()
    cells = [_cell(0.1, 1.3, 2, 3), _cell(1.3, 1.3, 2, 3), _cell(0.0, 100, 2, 1), _cell(100.0, 100, 2, 1), "-", "-"]
    assert lines[0].startswith("| family | n | reward before | reward after | greedy pass@1 % before |")
    assert lines[2] == "| addition | 2 | " + " | ".join(cells) + " |"
    assert lines[3] == "| all | 2 | " + " | ".join(cells) + " |"


def test_pass_rate_plot(tmp_path):
    rows = [{"step": 1, "reward": 0.1, "pass_rate": {"addition/1": 0.5}},
            {"step": 2, "reward": 0.2, "pass_rate": {"addition/1": 0.95, "addition/2": 0.3}, "groups_kept": 4}]
    assert plot_pass_rates(rows, tmp_path / "p.png", (0.1, 0.9)) == tmp_path / "p.png"
    assert plot_pass_rates([{"step": 1, "reward": 0.1}], tmp_path / "q.png") is None
    metrics = tmp_path / "metrics.jsonl"
    metrics.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    names = {p.name for p in plot_grpo(metrics, tmp_path, window=(0.1, 0.9))}
    assert {"rl_pass_rate.png", "rl_sampling.png", "rl_reward.png"} <= names
