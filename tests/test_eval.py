"""Evaluation metrics against hand-made completions; evaluate() end to end on a tiny model; the report."""

import json

import pytest
import torch

from nanoseek.data.tasks import generate
from nanoseek.eval import EvalResults, evaluate, score, score_problem, write_report
from nanoseek.eval.report import plot_eval, plot_grpo, results_table


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
    assert [(row["family"], row["lang"], row["n"]) for row in r.rows] == [
        ("addition", "en", 2), ("addition", "zh", 2), ("logic", "en", 2), ("logic", "zh", 2)]
    assert all(0 < row["length"] <= 5 for row in r.rows) and r.tokens > 0
    assert evaluate(model, tokenizer, k=1, **kw).samples == r.samples  # greedy: deterministic
    sampled = evaluate(model, tokenizer, k=3, **kw)
    assert sampled.k == 3 and sampled.temperature == 0.6
    assert all(len(s["completions"]) == 3 for s in sampled.samples)
    assert [s["question"] for s in sampled.samples] == [s["question"] for s in r.samples]


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
