"""Rejection sampling's filter, and every recipe end to end on a tiny checkpoint (a few steps each)."""

import json

import pytest
import torch

from nanoseek.data.tasks import generate
from nanoseek.train.rejection import accept, to_chat, train_problems


def test_accept_keeps_only_correct_well_formed_single_language():
    en = generate("addition", 1, seed=0, lang="en")[0]
    good = f"I add the digits, write the sum.\n</think>\n\nThe answer is \\boxed{{{en.answer}}}."
    assert accept(en, good)
    assert not accept(en, good.replace(en.answer, str(int(en.answer) + 1)))  # wrong
    assert not accept(en, f"<think>{good}")  # a second <think> opener: malformed
    assert not accept(en, good.replace("I add the digits", "我把各位相加"))  # mixed languages
    chat = to_chat(en, good)
    assert chat[1] == {"role": "assistant", "content": f"The answer is \\boxed{{{en.answer}}}.",
                       "reasoning_content": "I add the digits, write the sum."}


def test_train_problems_deterministic_and_train_split():
    a = train_problems(["addition", "logic"], ["en"], 4, seed=1, max_difficulty=2)
    assert a == train_problems(["addition", "logic"], ["en"], 4, seed=1, max_difficulty=2)
    assert len(a) == 8 and {p.difficulty for p in a} == {1, 2}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A tiny model and tokenizer saved as a checkpoint directory."""
    from nanoseek import Transformer
    from nanoseek.config import tiny
    from nanoseek.tokenizer import train_tokenizer

    texts = [p.question + p.trace for lang in ("en", "es") for p in generate("addition", 8, seed=0, lang=lang)]
    tokenizer = train_tokenizer(texts, 320)
    torch.manual_seed(0)
    model = Transformer(tiny().replace(vocab_size=tokenizer.vocab_size, max_position_embeddings=512,
                                       eos_token_id=tokenizer.eos_id, bos_token_id=tokenizer.bos_id))
    path = tmp_path_factory.mktemp("tiny")
    model.save_pretrained(path)
    tokenizer.save(path)
    return path


def small_rl(**kw):
    from nanoseek.train.grpo import GRPOConfig

    return GRPOConfig(**{**dict(steps=2, prompts_per_step=2, group_size=2, max_new_tokens=6, families=("addition",),
                                langs=("en", "es"), log_every=0), **kw})


def small_eval():
    from nanoseek.eval import EvalConfig

    return EvalConfig(families=("addition",), langs=("en", "es"), n_per=1, max_new_tokens=6)


def test_rl_recipe_writes_model_metrics_plots_report(checkpoint, tmp_path):
    from nanoseek import Transformer
    from nanoseek.train.recipes import rl_recipe

    out = tmp_path / "rl"
    result = rl_recipe(checkpoint, out, small_rl(), evaluation=small_eval())
    assert list(result.results) == ["before", "after"]
    Transformer.from_pretrained(out / "rl")
    assert len((out / "rl" / "metrics.jsonl").read_text().splitlines()) == 2
    assert (out / "rl_reward.png").is_file() and (out / "eval_pass1.png").is_file()
    text = (out / "report.md").read_text()
    assert "Before / after" in text and "| addition |" in text
    assert "## RL stage rl: before -> after, per family" in text
    assert "![rl_pass_rate](rl_pass_rate.png)" in text
    with pytest.raises(Exception, match="not empty"):
        rl_recipe(checkpoint, out, small_rl(), evaluation=small_eval())


def test_r1_zero_uses_its_template_and_no_language_reward(checkpoint, tmp_path):
    from nanoseek.train.recipes import r1_zero

    result = r1_zero(checkpoint, tmp_path / "zero", small_rl(steps=1), evaluation=small_eval())
    run = json.loads((tmp_path / "zero" / "r1_zero" / "run.json").read_text())
    assert run["template"] == "r1-zero" and run["reward"]["language"] == 0.0
    assert list(result.results) == ["base", "r1_zero"]


def test_r1_pipeline_runs_every_stage(checkpoint, tmp_path):
    from nanoseek.train import TrainConfig
    from nanoseek.train.recipes import R1Config, r1

    sft = TrainConfig(steps=2, lr=1e-3, warmup_steps=0, save_every=0, progress=False, peak_flops=1e12)
    cfg = R1Config(cold_start_per_family=1, cold_start=sft, rl1=small_rl(steps=1), rejection_per_family=1,
                   rejection_k=2, sft2=sft, rl2=small_rl(steps=1), seq_len=256, batch_size=2)
    result = r1(checkpoint, tmp_path / "r1", cfg, evaluation=small_eval())
    assert [s["stage"] for s in result.stages] == ["cold_start", "rl1", "rejection_sampling", "sft2", "rl2"]
    assert list(result.results) == ["cold_start", "rl1", "sft2", "rl2"]
    assert result.final_model == tmp_path / "r1" / "rl2"
    assert (tmp_path / "r1" / "rejection_sampled.jsonl").is_file()


def test_distill_sfts_the_student_on_verified_teacher_traces(checkpoint, tmp_path, monkeypatch):
    """A random teacher writes nothing verifiable, so the traces are stubbed with a known good one."""
    import nanoseek.train.distill as distill_module
    from nanoseek.train import TrainConfig
    from nanoseek.train.distill import DistillConfig, distill

    p = generate("addition", 1, seed=0, lang="en")[0]
    good = to_chat(p, f"{p.trace}\n</think>\n\n\\boxed{{{p.answer}}}")
    seen = {}

    def fake_rejection_sample(model, tokenizer, problems, k, **kw):
        seen["problems"] = len(problems)
        return [good] * 4, {"problems": len(problems), "samples": k * len(problems), "kept": 4, "correct": 1.0,
                            "well_formed": 1.0}

    monkeypatch.setattr(distill_module, "rejection_sample", fake_rejection_sample)
    cfg = DistillConfig(families=("addition",), langs=("en",), per_family=2, k=2, seq_len=256, batch_size=2,
                        sft=TrainConfig(steps=2, lr=1e-3, warmup_steps=0, save_every=0, progress=False,
                                        peak_flops=1e12))
    result = distill(checkpoint, checkpoint, tmp_path / "d", cfg, rl_config=small_rl(steps=1),
                     evaluation=small_eval())
    assert seen["problems"] == 2
    assert list(result.results) == ["teacher", "student", "distilled", "student_rl"]
    assert result.final_model == tmp_path / "d" / "distilled"
    assert len((tmp_path / "d" / "teacher_traces.jsonl").read_text().splitlines()) == 4


def test_cli_rl_and_eval(checkpoint, tmp_path, capsys):
    from nanoseek.cli import main

    small = ["--families", "addition", "--langs", "en", "--threads", "1"]
    rc = main(["rl", "--model", str(checkpoint), "--out", str(tmp_path / "rl"), "--steps", "1", "--prompts-per-step",
               "2", "--group-size", "2", "--max-new-tokens", "4", "--no-eval", "--loss-norm", "token",
               "--max-difficulty", "3", *small])
    assert rc == 0 and (tmp_path / "rl" / "config.json").is_file()
    run = json.loads((tmp_path / "rl" / "run.json").read_text())
    assert run["loss_norm"] == "token" and run["steps"] == 1 and run["group_size"] == 2 and run["max_difficulty"] == 3
    rc = main(["eval", "--model", str(tmp_path / "rl"), "--out", str(tmp_path / "ev"), "--eval-n", "1",
               "--eval-max-new-tokens", "4", *small])
    assert rc == 0 and (tmp_path / "ev" / "report.md").is_file()
    assert "| addition |" in capsys.readouterr().out
    assert main(["rl", "--model", str(checkpoint), "--out", str(tmp_path / "x"), "--families", "nope"]) == 2


def test_compare_presets_one_checkpoint_each_its_own_run(checkpoint, tmp_path):
    from nanoseek.train.recipes import compare_presets

    result = compare_presets(checkpoint, tmp_path / "cmp", ["default", "nanochat"], small_rl(steps=1),
                             evaluation=small_eval())
    assert list(result.results) == ["before", "default", "nanochat"]
    assert json.loads((tmp_path / "cmp" / "nanochat" / "run.json").read_text())["policy_loss"] == "no-clip"
    assert json.loads((tmp_path / "cmp" / "default" / "run.json").read_text())["policy_loss"] == "clip"
    text = (tmp_path / "cmp" / "report.md").read_text()
    assert "## RL stage default: before -> default" in text and "## RL stage nanochat: before -> nanochat" in text
    with pytest.raises(ValueError, match="preset must be one of"):
        compare_presets(checkpoint, tmp_path / "bad", ["nanochat", "huge"], small_rl(), evaluation=small_eval())
    assert not (tmp_path / "bad").exists()


def test_cli_rl_presets_window_and_partial_credit(checkpoint, tmp_path):
    from nanoseek.cli import main

    out = tmp_path / "rl"
    rc = main(["rl", "--model", str(checkpoint), "--out", str(out), "--steps", "1", "--prompts-per-step", "2",
               "--group-size", "2", "--max-new-tokens", "4", "--no-eval", "--families", "addition", "--langs", "en",
               "--threads", "1", "--preset", "nanochat", "--beta", "0.01", "--pass-window", "0.2,0.7",
               "--dynamic-sampling", "--max-refill-rounds", "1", "--partial-credit", "0.3"])
    assert rc == 0
    run = json.loads((out / "run.json").read_text())
    assert (run["advantage"], run["beta"], run["pass_window"], run["dynamic_sampling"], run["max_refill_rounds"],
            run["reward"]["partial"]) == ("mean", 0.01, [0.2, 0.7], True, 1, 0.3)
    row = json.loads((out / "metrics.jsonl").read_text().splitlines()[0])
    assert {"pass_rate", "in_window", "groups_kept", "partial"} <= set(row)
    assert main(["rl", "--model", str(checkpoint), "--out", str(tmp_path / "x"), "--pass-window", "0.9,0.1"]) == 2
    assert main(["rl", "--model", str(checkpoint), "--out", str(tmp_path / "y"), "--preset", "huge"]) == 2
