"""Held-out evaluation (`evaluate`) and run reports (`write_report`, PNG plots)."""

from nanoseek.eval.evaluate import EvalResults, eval_problems, evaluate, score, score_problem
from nanoseek.eval.report import plot_eval, plot_grpo, plot_loss, plot_metrics, write_report

__all__ = ["EvalResults", "eval_problems", "evaluate", "plot_eval", "plot_grpo", "plot_loss", "plot_metrics",
           "score", "score_problem", "write_report"]
