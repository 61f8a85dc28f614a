"""The speedrun pipeline end to end on a miniature profile: every stage, resumption, the report."""

import json

import pytest
import torch
import transformers

from nanoseek import Transformer
from nanoseek.data.mixture import MixtureConfig
from nanoseek.speedrun import STAGES, Profile, Speedrun, profile
from nanoseek.train import RunError
from nanoseek.train.grpo import GRPOConfig
from nanoseek.train.pretrain import DataConfig
from nanoseek.eval import EvalConfig
from nanoseek.eval.evaluate import EvalResults
from nanoseek.train.trainer import TrainConfig


def _miniature() -> Profile:
    quiet = dict(progress=False, save_every=0, warmup_steps=1)
    return Profile(
        model_preset="tiny", vocab_size=400, mixture=MixtureConfig(), sft_task_chats=4,
        pretrain=TrainConfig(steps=3, **quiet), pretrain_data=DataConfig(batch_size=2, seq_len=64),
        sft=TrainConfig(steps=2, max_seconds=3600, **quiet), sft_data=DataConfig(batch_size=2, seq_len=128),
        rl=GRPOConfig(steps=1, prompts_per_step=2, group_size=2, max_new_tokens=8, families=("addition",),
                      langs=("en",), log_every=0),
        eval=EvalConfig(n_per=1, max_new_tokens=8, families=("addition",), langs=("en", "zh")),
    )


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "mini"
    lines = []
    Speedrun(run_dir, "tiny", lines.append, custom=_miniature()).run()
    return run_dir, lines


def test_every_stage_runs_and_is_recorded(finished_run):
    run_dir, lines = finished_run
    stages = json.loads((run_dir / "stages.json").read_text())
    assert list(stages) == list(STAGES)
    assert stages["pretrain"]["steps"] == 3 and stages["sft"]["steps"] == 2 and stages["rl"]["steps"] == 1
    assert lines[-2] == f"chat with it:  nanoseek chat --model {run_dir / 'model'}"


def test_report_has_the_tables_and_plots(finished_run):
    run_dir, _ = finished_run
    report = (run_dir / "report.md").read_text()
    for needle in ["## Stages", "## Held-out pass@1", "| addition |", "![loss](loss.png)", "parameters",
                   "## Pretraining tokens trained per source and language", "| source | en | es | zh | all | share |",
                   "## RL stage rl: sft -> rl, per family", "![rl_pass_rate](rl_pass_rate.png)",
                   "pretraining: 3 steps, no time budget; SFT: 2 of 2 steps fit its 3600 s budget."]:
        assert needle in report
    assert (run_dir / "loss.png").stat().st_size > 0


def test_the_rl_table_compares_greedy_and_sampled_decodings_before_and_after(finished_run):
    run_dir, _ = finished_run
    before = EvalResults.load(run_dir / "eval_sft.json")
    assert before.sampled is not None and before.sampled.temperature == 0.6 and before.unseen is None
    rl_section = (run_dir / "report.md").read_text().split("## RL stage rl")[1]
    addition = next(line for line in rl_section.splitlines() if line.startswith("| addition |"))
    cells = [c.strip() for c in addition.strip("|").split("|")]
    assert len(cells) == 8 and "-" not in cells[4:], addition  # greedy and sampled pass@1, before and after


def test_final_model_loads_here_and_in_transformers(finished_run):
    run_dir, _ = finished_run
    ours = Transformer.from_pretrained(run_dir / "model").eval()
    theirs = transformers.AutoModelForCausalLM.from_pretrained(run_dir / "model").eval()
    ids = torch.tensor([[0, 5, 6, 7]])
    with torch.no_grad():
        assert (ours(ids) - theirs(ids).logits).abs().max().item() < 1e-4
    assert (run_dir / "model" / "tokenizer.json").is_file()


def test_rerun_skips_finished_stages(finished_run):
    run_dir, _ = finished_run
    lines = []
    Speedrun(run_dir, "tiny", lines.append, custom=_miniature()).run()
    assert [line for line in lines if "skipped" in line] == [
        f"[{i}/6] {name}: done earlier ({json.loads((run_dir / 'stages.json').read_text())[name]['seconds']:.0f}s), skipped"
        for i, name in enumerate(STAGES, start=1)]


def test_an_unrecorded_rl_stage_resumes_from_its_checkpoint(finished_run):
    """Killed after RL's last checkpoint but before stages.json said so: the rerun trains no
    step again (the metrics stay as they were) and records the stage."""
    run_dir, _ = finished_run
    stages = json.loads((run_dir / "stages.json").read_text())
    del stages["rl"]
    (run_dir / "stages.json").write_text(json.dumps(stages))
    metrics = (run_dir / "rl" / "metrics.jsonl").read_text()
    lines = []
    Speedrun(run_dir, "tiny", lines.append, custom=_miniature()).run()
    assert (run_dir / "rl" / "metrics.jsonl").read_text() == metrics
    assert json.loads((run_dir / "stages.json").read_text())["rl"]["steps"] == 1
    assert [line for line in lines if "skipped" not in line][:1] == ["[4/6] rl ..."]


def test_a_run_directory_of_another_profile_is_refused(finished_run):
    run_dir, _ = finished_run
    with pytest.raises(RunError, match="holds a 'tiny' run, not 'speedrun'"):
        Speedrun(run_dir, "speedrun")


def test_unknown_profile_lists_the_choices():
    with pytest.raises(ValueError, match=r"unknown profile 'huge'; choose one of \['speedrun', 'tiny', 'gpu'\]"):
        profile("huge")


def test_the_speedrun_budgets_its_training_stages_unless_told_not_to(monkeypatch, tmp_path):
    import nanoseek.speedrun as sr

    assert (profile("speedrun").pretrain.max_seconds, profile("speedrun").sft.max_seconds) == (
        sr.PRETRAIN_SECONDS, sr.SFT_SECONDS)
    seen = []
    monkeypatch.setattr(Speedrun, "run", lambda self: seen.append(self.profile) or tmp_path)
    sr.speedrun("a", "speedrun", tmp_path, time_budget=False)
    sr.speedrun("b", "speedrun", tmp_path)
    assert [(p.pretrain.max_seconds, p.sft.max_seconds) for p in seen] == [
        (None, None), (sr.PRETRAIN_SECONDS, sr.SFT_SECONDS)]
    assert seen[0].pretrain.steps == profile("speedrun").pretrain.steps
