"""Evaluation metrics against hand-made completions; intervals; evaluate() end to end on a tiny
model; the report."""

import json
import math

import pytest
import torch

from nanoseek.data.tasks import generate
from nanoseek.eval import EvalResults, eval_problems, evaluate, score, score_problem, write_report
from nanoseek.eval.open_prompts import OpenPrompt, score_open_prompts
from nanoseek.eval.report import difficulty_table, pass1_table, plot_eval, plot_grpo, results_table
from nanoseek.eval.stats import wilson_interval


@pytest.fixture(scope="module")
def problem():
    return generate("addition", 1, seed=0, split="eval")[0]


def done(answer, reasoning="I add the columns."):
    return f"{reasoning}\n</think>\n\nThe answer is \\boxed{{{answer}}}."


def test_single_greedy_completion(problem):
    s = score_problem(problem, [done(problem.answer)])
    assert (s["pass@1"], s["maj@k"], s["pass@k"], s["format"]) == (1.0, 1.0, 1.0, 1.0)
    s = score_problem(problem, [done(int(problem.answer) + 1)])
    assert (s["pass@1"], s["maj@k"], s["pass@k"]) == (0.0, 0.0, 0.0)


def test_pass1_majority_and_passk_by_hand(problem):
    right, wrong = problem.answer, str(int(problem.answer) + 1)
    # 1 right of 4, the wrong answer is the most common: pass@1 1/4, maj@4 0, pass@4 1
    s = score_problem(problem, [done(right), done(wrong), done(wrong), "no answer at all"])
    assert (s["pass@1"], s["maj@k"], s["pass@k"]) == (0.25, 0.0, 1.0)
    assert s["format"] == 0.75  # the last one has no </think> and no \boxed{}
    # 2 right of 3: majority right
    s = score_problem(problem, [done(right), done(wrong), done(right)])
    assert (s["pass@1"], s["maj@k"]) == (pytest.approx(2 / 3), 1.0)
    # a tie goes to the answer seen first; unanswered samples do not vote
    assert score_problem(problem, [done(wrong), done(right), "…"])["maj@k"] == 0.0
    assert score_problem(problem, [done(right), done(wrong), "…"])["maj@k"] == 1.0


def test_boxed_inside_reasoning_does_not_count(problem):
    text = f"\\boxed{{{problem.answer}}} so the answer is settled"  # never closed </think>
    assert score_problem(problem, [text])["pass@1"] == 0.0


def test_score_rows_and_weighted_means():
    en = generate("addition", 3, seed=1, split="eval", lang="en")
    zh = generate("addition", 1, seed=1, split="eval", lang="zh")
    problems = en + zh
    completions = [[done(p.answer)] if i < 2 else [done("x")] for i, p in enumerate(problems)]
    r = score(problems, completions, lengths=[[10], [20], [30], [40]])
    assert [(row["lang"], row["n"]) for row in r.rows] == [("en", 3), ("zh", 1)]
    assert r.get("pass@1", lang="en") == pytest.approx(2 / 3)
    assert r.get("pass@1", lang="zh") == 0.0
    assert r.get("pass@1") == 0.5  # 2 of 4 problems, not the mean of the two rows
    assert r.get("length") == 25.0
    assert r.table()["addition"]["all"] == 0.5
    again = EvalResults.from_dict(json.loads(json.dumps(r.to_dict())))
    assert again.rows == r.rows


def test_wilson_interval_exact():
    assert wilson_interval(0 / 64, 64) == (0.0, pytest.approx(0.0566240598, abs=1e-10))
    assert wilson_interval(32 / 64, 64) == (pytest.approx(0.3810209474, abs=1e-10),
                                             pytest.approx(0.6189790526, abs=1e-10))
    assert wilson_interval(64 / 64, 64) == (pytest.approx(0.9433759402, abs=1e-10), 1.0)
    assert wilson_interval(3 / 4, 4) == (pytest.approx(0.3006418426, abs=1e-10), pytest.approx(0.9544127392, abs=1e-10))
    assert all(math.isnan(v) for v in wilson_interval(0.0, 0))


def levels_results():
    """addition: level 1 all right (en 2, zh 1), level 2 one of two right (en); logic en: wrong."""
    problems = (generate("addition", 2, seed=0, split="eval", lang="en")
                + generate("addition", 2, seed=0, split="eval", lang="en", difficulty=2)
                + generate("addition", 1, seed=0, split="eval", lang="zh")
                + generate("logic", 1, seed=0, split="eval", lang="en"))
    right = [True, True, True, False, True, False]
    return score(problems, [[done(p.answer if ok else "x")] for p, ok in zip(problems, right)])


def test_rows_per_family_language_and_level_with_intervals():
    r = levels_results()
    assert [(row["family"], row["lang"], row["difficulty"], row["n"]) for row in r.rows] == [
        ("addition", "en", 1, 2), ("addition", "en", 2, 2), ("addition", "zh", 1, 1), ("logic", "en", 1, 1)]
    assert r.difficulties == [1, 2] and r.count(family="addition") == 5
    assert r.get("pass@1", "addition", difficulty=1) == 1.0
    assert r.get("pass@1", "addition", difficulty=2) == 0.5
    assert r.get("pass@1", "addition", "en") == 0.75
    assert r.interval("pass@1", "addition", "en") == wilson_interval(0.75, 4)
    assert r.interval("pass@1", difficulty=1) == wilson_interval(0.75, 4)  # 3 of 4 level-1 problems
    assert r.interval() == wilson_interval(4 / 6, 6)
    cells = {(c["family"], c["lang"], c["difficulty"]): c for c in r.pass1_intervals()}
    assert cells["addition", "all", 2] == {"family": "addition", "lang": "all", "difficulty": 2, "n": 2,
                                           "pass@1": 0.5, "lo": wilson_interval(0.5, 2)[0],
                                           "hi": wilson_interval(0.5, 2)[1]}
    assert cells["all", "all", "all"]["n"] == 6 and cells["logic", "zh", "all"]["n"] == 0


def test_sampled_pass1_interval_counts_problems_not_samples(problem):
    right, wrong = done(problem.answer), done("x")
    r = score([problem] * 4, [[right, wrong, wrong, wrong]] * 2 + [[right] * 4] * 2)
    assert r.k == 4 and r.get("pass@1") == 0.625  # (1/4 + 1/4 + 1 + 1) / 4
    assert r.interval("pass@1") == wilson_interval(0.625, 4)


def test_nested_results_round_trip_through_json(tmp_path):
    r = levels_results()
    r.sampled, r.unseen = levels_results(), levels_results()
    r.open_prompts = score_open_prompts([OpenPrompt("en", "hi")], [[3, 1]], ["hello"], eos_id=1)
    r.save(tmp_path / "eval.json")
    saved = json.loads((tmp_path / "eval.json").read_text())
    overall = next(c for c in saved["pass@1_intervals"] if c["family"] == c["lang"] == c["difficulty"] == "all")
    assert (overall["n"], overall["pass@1"]) == (6, 4 / 6) and [overall["lo"], overall["hi"]] == list(r.interval())
    assert "pass@1_intervals" in saved["sampled"]
    again = EvalResults.load(tmp_path / "eval.json")
    assert again == r and again.open_prompts.get("eos") == 1.0


def test_eval_problems_unseen_phrasings_are_the_same_problems_reworded():
    kw = dict(families=["addition", "logic"], langs=["en", "es"], n_per=3, seed=0)
    seen, unseen = eval_problems(**kw), eval_problems(**kw, phrasing="heldout")
    assert [(p.family, p.lang, p.difficulty, p.answer) for p in seen] == [
        (p.family, p.lang, p.difficulty, p.answer) for p in unseen]
    assert all(a.question != b.question for a, b in zip(seen, unseen))


def tiny_setup():
    from nanoseek import Transformer
    from nanoseek.config import tiny
    from nanoseek.tokenizer import train_tokenizer

    texts = [p.question + p.trace for f in ("addition", "logic") for lang in ("en", "zh")
             for p in generate(f, 5, seed=0, lang=lang)]
    tokenizer = train_tokenizer(texts, 320)
    torch.manual_seed(0)
    cfg = tiny().replace(vocab_size=tokenizer.vocab_size, max_position_embeddings=512)
    return Transformer(cfg), tokenizer


def test_evaluate_end_to_end_on_a_tiny_model():
    model, tokenizer = tiny_setup()
    model.train()
    kw = dict(families=["addition", "logic"], langs=["en", "zh"], n_per=2, seed=0, max_new_tokens=5)
    r = evaluate(model, tokenizer, k=1, **kw)
    assert model.training  # mode restored
    assert [(row["family"], row["lang"], row["difficulty"], row["n"]) for row in r.rows] == [
        (f, lang, d, 1) for f in ("addition", "logic") for lang in ("en", "zh") for d in (1, 2)]
    assert all(0 < row["length"] <= 5 for row in r.rows) and r.tokens > 0
    assert r.sampled is None and r.unseen is None and r.open_prompts is None
    assert evaluate(model, tokenizer, k=1, **kw).samples == r.samples  # greedy: deterministic
    sampled = evaluate(model, tokenizer, k=3, **kw)
    assert sampled.k == 3 and sampled.temperature == 0.6
    assert all(len(s["completions"]) == 3 for s in sampled.samples)
    assert [s["question"] for s in sampled.samples] == [s["question"] for s in r.samples]


def test_every_decoding_in_one_engine_batch(monkeypatch):
    from nanoseek.inference import Engine

    model, tokenizer = tiny_setup()
    calls = []
    generate_ = Engine.generate
    monkeypatch.setattr(Engine, "generate",
                        lambda self, ids, params: calls.append(len(ids)) or generate_(self, ids, params))
    kw = dict(families=["addition"], langs=["en", "zh"], n_per=2, seed=0, max_new_tokens=4)
    r = evaluate(model, tokenizer, sampled_k=2, unseen_phrasings=True, open_prompts=True, open_max_new_tokens=3, **kw)
    n_open = r.open_prompts.count()
    assert calls == [4 + 4 * 2 + 4 + n_open]  # greedy, 2 samples each, unseen phrasings, open prompts
    assert (r.k, r.temperature, r.sampled.k, r.sampled.temperature, r.unseen.k) == (1, 0.0, 2, 0.6, 1)
    assert (r.phrasing, r.sampled.phrasing, r.unseen.phrasing) == ("train", "train", "heldout")
    assert [s["answer"] for s in r.unseen.samples] == [s["answer"] for s in r.samples]
    assert [s["question"] for s in r.sampled.samples] == [s["question"] for s in r.samples]
    assert r.open_prompts.langs == ["en", "zh"] and all(0 < s["length"] <= 3 for s in r.open_prompts.samples)
    alone = evaluate(model, tokenizer, **kw)
    assert [s["completions"] for s in alone.samples] == [s["completions"] for s in r.samples]


def test_report_tables_and_plots(tmp_path):
    problems = generate("addition", 2, seed=0, split="eval") + generate("logic", 2, seed=0, split="eval")
    before = score(problems, [[done("x")]] * 4)
    after = score(problems, [[done(p.answer)] for p in problems[:3]] + [[done("x")]])
    metrics = tmp_path / "rl" / "metrics.jsonl"
    metrics.parent.mkdir()
    metrics.write_text("".join(json.dumps({"step": s, "reward": 0.1 * s, "accuracy": 0.05 * s, "format": 0.5,
                                           "response_length": 40 + s, "kl": 0.001 * s, "entropy": 1.0,
                                           "clip_frac": 0.0, "grad_norm": 1.0}) + "\n" for s in range(1, 6)))
    plots = plot_grpo(metrics, tmp_path) + [plot_eval({"sft": before, "rl": after}, tmp_path / "eval.png")]
    assert all(p.is_file() and p.read_bytes()[:4] == b"\x89PNG" for p in plots) and len(plots) == 4
    stages = [{"stage": "sft", "seconds": 60.0, "tokens": 123456, "loss": 1.25},
              {"stage": "rl", "seconds": 90.0, "tokens": 5000}]
    path = write_report(tmp_path, stages, {"sft": before, "rl": after}, plots, model={"preset": "tiny"})
    text = path.read_text()
    assert "| addition | 0.0 | 100.0 | +100.0 |" in text  # before/after with the change
    assert "| logic | 0.0 | 50.0 | +50.0 |" in text
    assert "| all | 0.0 | 75.0 | +75.0 |" in text
    assert "| sft | 60.000 | 123,456 | 1.250 |" in text
    assert "![rl_reward](rl_reward.png)" in text and "![eval](eval.png)" in text
    assert results_table(after).splitlines()[0] == "| family | en | all |"


def test_pass1_and_difficulty_tables_show_intervals():
    r = levels_results()
    r.unseen = levels_results()
    table = pass1_table(r).splitlines()
    assert table[0] == "| family | lang | n | greedy | sampled | unseen phrasings |"
    assert "| addition | en | 4 | 75.0 [30.1, 95.4] | - | 75.0 [30.1, 95.4] |" in table
    assert "| addition | all | 5 | 80.0 [37.6, 96.4] | - | 80.0 [37.6, 96.4] |" in table
    assert table[-1] == "| all | all | 6 | 66.7 [30.0, 90.3] | - | 66.7 [30.0, 90.3] |"
    r.sampled = levels_results()
    r.sampled.temperature = 0.6  # one sample per problem is still sampled, not greedy
    assert pass1_table(r).splitlines()[0] == "| family | lang | n | greedy | sampled (k=1, T=0.6) | unseen phrasings |"
    levels = difficulty_table(r).splitlines()
    assert levels[0] == "| family | level 1 | level 2 | all |"
    assert levels[2] == "| addition | 100.0 [43.9, 100.0] | 50.0 [9.5, 90.5] | 80.0 [37.6, 96.4] |"
    assert levels[3] == "| logic | 0.0 [0.0, 79.3] | n/a | 0.0 [0.0, 79.3] |"


def test_cli_eval_writes_every_decoding(tmp_path, capsys):
    from nanoseek.cli import main

    model, tokenizer = tiny_setup()
    model.config.eos_token_id = tokenizer.eos_id
    model.save_pretrained(tmp_path / "ckpt")
    tokenizer.save(tmp_path / "ckpt")
    rc = main(["eval", "--model", str(tmp_path / "ckpt"), "--out", str(tmp_path / "ev"), "--families", "addition",
               "--langs", "en,es", "--eval-n", "2", "--eval-k", "2", "--eval-max-new-tokens", "3",
               "--no-unseen-phrasings", "--threads", "1"])
    assert rc == 0
    r = EvalResults.load(tmp_path / "ev" / "eval.json")
    assert (r.count(), r.sampled.k, r.sampled.temperature, r.unseen) == (4, 2, 0.6, None)
    assert r.open_prompts.langs == ["en", "es"] and r.open_prompts.max_new_tokens == 256
    out = capsys.readouterr().out
    assert "| family | lang | n | greedy | sampled (k=2, T=0.6) | unseen phrasings |" in out
    assert "| lang | prompts | ends with EOS (of 256 tokens) % |" in out
    report = (tmp_path / "ev" / "report.md").read_text()
    for needle in ["## Held-out pass@1 (%), ckpt model", "### By difficulty level", "### maj@2 (%)",
                   "## Open prompts", "## Answer quality by stage"]:
        assert needle in report
