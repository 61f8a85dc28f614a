"""Held-out evaluation (`evaluate`: pass@1 with 95% intervals, greedy / sampled / unseen
phrasings, open chat prompts; `evaluate_dir`: a checkpoint directory as an `EvalConfig` says)
and run reports (`write_report`, PNG plots)."""

from nanoseek.eval.evaluate import (
    EvalConfig, EvalResults, eval_problems, evaluate, evaluate_dir, score, score_problem,
)
from nanoseek.eval.open_prompts import OPEN_PROMPTS, OpenPromptResults, score_open_prompts
from nanoseek.eval.report import plot_eval, plot_grpo, plot_loss, plot_metrics, write_report
from nanoseek.eval.stats import wilson_interval

__all__ = ["OPEN_PROMPTS", "EvalConfig", "EvalResults", "OpenPromptResults", "eval_problems", "evaluate",
           "evaluate_dir", "plot_eval", "plot_grpo", "plot_loss", "plot_metrics", "score", "score_open_prompts",
           "score_problem", "wilson_interval", "write_report"]
