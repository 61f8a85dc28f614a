"""A run's report: `report.md` with tables (stages; held-out pass@1 with 95% intervals per
family and language for greedy, sampled and unseen-phrasing decoding; per difficulty level;
open-prompt behaviour; before/after; per RL stage, reward and pass@1 per family before and
after) and PNG plots (matplotlib, Agg backend: no display needed).

    plots = plot_loss({"pretrain": "runs/x/pretrain/metrics.jsonl", "sft": ...}, "runs/x/loss.png")
    plots += plot_grpo("runs/x/rl/metrics.jsonl", "runs/x", window=(0.1, 0.9))
    write_report("runs/x", stages, {"sft": before, "rl": after}, plots,
                 sections=[rl_section("rl", "sft", before, "rl", after, RewardWeights())])
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Mapping, Sequence

import matplotlib
import numpy as np

matplotlib.use("Agg")  # files only; never a window
import matplotlib.pyplot as plt  # noqa: E402

from nanoseek.data.rewards import RewardWeights  # noqa: E402
from nanoseek.eval.evaluate import EvalResults  # noqa: E402
from nanoseek.eval.stats import wilson_interval  # noqa: E402
from nanoseek.eval.open_prompts import OpenPromptResults  # noqa: E402

REPORT_FILE = "report.md"


def read_jsonl(path: str | Path) -> list[dict]:
    path = Path(path)
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _smooth(values: list[float], window: int) -> list[float]:
    if window <= 1:
        return values
    out, acc = [], []
    for v in values:
        acc = (acc + [v])[-window:]
        out.append(sum(acc) / len(acc))
    return out


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_metrics(metrics: str | Path | list[dict], path: str | Path, keys: Sequence[str], *,
                 title: str | None = None, smooth: int = 1, x: str = "step") -> Path | None:
    """One panel per key (those present) of a JSONL metrics file against `x`; None if no data."""
    rows = read_jsonl(metrics) if not isinstance(metrics, list) else metrics
    keys = [k for k in keys if any(isinstance(r.get(k), (int, float)) for r in rows)]
    if not keys:
        return None
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3.2), squeeze=False)
    for ax, key in zip(axes[0], keys):
        pts = [(r[x], r[key]) for r in rows if isinstance(r.get(key), (int, float)) and math.isfinite(r[key])]
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        ax.plot(xs, ys, alpha=0.35 if smooth > 1 else 1.0)
        if smooth > 1:
            ax.plot(xs, _smooth(ys, smooth))
        ax.set_title(key)
        ax.set_xlabel(x)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def plot_loss(stages: Mapping[str, str | Path], path: str | Path, key: str = "loss") -> Path | None:
    """Training loss of several stages (name -> metrics.jsonl) side by side, one panel each."""
    data = {name: read_jsonl(p) for name, p in stages.items()}
    data = {name: rows for name, rows in data.items() if any(key in r for r in rows)}
    if not data:
        return None
    fig, axes = plt.subplots(1, len(data), figsize=(4.5 * len(data), 3.2), squeeze=False)
    for ax, (name, rows) in zip(axes[0], data.items()):
        xs, ys = [r["step"] for r in rows if key in r], [r[key] for r in rows if key in r]
        ax.plot(xs, ys, alpha=0.35)
        ax.plot(xs, _smooth(ys, max(1, len(ys) // 20)))
        ax.set_title(f"{name} {key}")
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def _cell_order(name: str) -> tuple[str, int]:
    family, level = name.rsplit("/", 1)
    return family, int(level)


def plot_pass_rates(metrics: str | Path | list[dict], path: str | Path,
                    window: tuple[float, float] | None = None) -> Path | None:
    """The pass-rate window over time: one row per (family, level) cell, one column per step,
    coloured by the cell's online pass rate (blank until first measured), with a dot where
    the rate was inside `window`; None when the metrics hold no pass rates."""
    rows = read_jsonl(metrics) if not isinstance(metrics, list) else metrics
    rows = [r for r in rows if r.get("pass_rate")]
    if not rows:
        return None
    cells = sorted({c for r in rows for c in r["pass_rate"]}, key=_cell_order)
    rates = np.array([[r["pass_rate"].get(c, np.nan) for r in rows] for c in cells])  # [cells, steps]
    steps = [r["step"] for r in rows]
    fig, ax = plt.subplots(figsize=(max(6, 0.12 * len(rows) + 3), max(3, 0.25 * len(cells) + 1.2)))
    image = ax.imshow(rates, aspect="auto", interpolation="nearest", cmap="viridis", vmin=0, vmax=1,
                      extent=(steps[0] - 0.5, steps[-1] + 0.5, len(cells) - 0.5, -0.5))
    fig.colorbar(image, ax=ax, label="pass rate")
    title = "online pass rate per cell"
    if window is not None:
        y, x = np.nonzero((rates >= window[0]) & (rates <= window[1]))
        ax.scatter([steps[i] for i in x], y, s=6, c="white", marker="o")
        title += f"; dots: inside the window [{window[0]}, {window[1]}]"
    ax.set_yticks(range(len(cells)), cells, fontsize=7)
    ax.set_xlabel("step")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def plot_grpo(metrics: str | Path, out_dir: str | Path, prefix: str = "rl",
              window: tuple[float, float] | None = None) -> list[Path]:
    """The RL run's curves: reward and its parts, response length (R1's "thinking gets
    longer"), stability (KL to the reference, entropy, clip fraction), the task cells' pass
    rates against the pass-rate `window` the run used, and dynamic sampling's group counts."""
    rows = read_jsonl(metrics)
    smooth = max(1, len(rows) // 10)
    out_dir = Path(out_dir)
    made = [
        plot_metrics(rows, out_dir / f"{prefix}_reward.png", ["reward", "accuracy", "format", "language", "partial"],
                     title="GRPO reward (train rollouts)", smooth=smooth),
        plot_metrics(rows, out_dir / f"{prefix}_length.png", ["response_length", "truncated"],
                     title="response length (tokens)", smooth=smooth),
        plot_metrics(rows, out_dir / f"{prefix}_stability.png", ["kl", "entropy", "clip_frac", "grad_norm"],
                     title="policy drift", smooth=smooth),
        plot_pass_rates(rows, out_dir / f"{prefix}_pass_rate.png", window),
        plot_metrics(rows, out_dir / f"{prefix}_sampling.png",
                     ["in_window", "groups_drawn", "groups_kept", "groups_dropped", "sampling_rounds"],
                     title="prompt selection (cells in the window; dynamic sampling's groups)"),
    ]
    return [p for p in made if p is not None]


def plot_eval(results: Mapping[str, EvalResults], path: str | Path, metric: str = "pass@1") -> Path | None:
    """Grouped bars: `metric` per family (and overall) for each stage's evaluation."""
    if not results:
        return None
    families = list(dict.fromkeys(f for r in results.values() for f in r.families)) + ["all"]
    width = 0.8 / len(results)
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(families)), 3.5))
    for i, (name, r) in enumerate(results.items()):
        values = [r.get(metric, None if f == "all" else f) for f in families]
        ax.bar([j + i * width for j in range(len(families))], values, width, label=name)
    ax.set_xticks([j + width * (len(results) - 1) / 2 for j in range(len(families))], families, rotation=20)
    ax.set_ylabel(f"held-out {metric}")
    ax.set_ylim(0, 1)
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


# ---- markdown -------------------------------------------------------------------------------


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if math.isnan(v):
            return "n/a"
        if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
            return f"{v:.3g}"
        return f"{v:,.3f}" if abs(v) < 100 else f"{v:,.1f}"
    return str(v)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    lines = ["| " + " | ".join(map(str, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _pct(v: float) -> str:
    return "n/a" if math.isnan(v) else f"{100 * v:.1f}"


def _one_decimal(v: float) -> str:
    return "n/a" if math.isnan(v) else f"{v:.1f}"


def _with_interval(value: float, interval: tuple[float, float]) -> str:
    """"41.2 [30.1, 52.9]": a share and its 95% interval, in percent."""
    if math.isnan(value):
        return "n/a"
    return f"{_pct(value)} [{_pct(interval[0])}, {_pct(interval[1])}]"


def _pass1(r: EvalResults | None, family: str | None = None, lang: str | None = None,
           difficulty: int | None = None) -> str:
    if r is None:
        return "-"
    return _with_interval(r.get("pass@1", family, lang, difficulty), r.interval("pass@1", family, lang, difficulty))


def results_table(r: EvalResults, metric: str = "pass@1") -> str:
    """family x language table of `metric` in percent, with an "all" row and column."""
    langs = r.langs
    table = r.table(metric)
    rows = [[family] + [_pct(vals[lang]) for lang in langs] + [_pct(vals["all"])] for family, vals in table.items()]
    return markdown_table(["family", *langs, "all"], rows)


def _how(r: EvalResults) -> str:
    return "greedy" if r.temperature == 0 else f"k={r.k}, T={r.temperature}"


def pass1_table(r: EvalResults) -> str:
    """One row per family x language (then the family pooled, then everything): pass@1 [95%
    interval] of the main decoding (greedy), the sampled one (r.sampled) and on unseen
    phrasings (r.unseen), in percent; "-" for a decoding not run."""
    sampled = f"sampled ({_how(r.sampled)})" if r.sampled else "sampled"
    rows = []
    for family in [*r.families, None]:
        for lang in [*r.langs, None] if family else [None]:
            rows.append([family or "all", lang or "all", r.count(family, lang), _pass1(r, family, lang),
                         _pass1(r.sampled, family, lang), _pass1(r.unseen, family, lang)])
    return markdown_table(["family", "lang", "n", _how(r), sampled, "unseen phrasings"], rows)


def difficulty_table(r: EvalResults) -> str:
    """family x difficulty level: greedy pass@1 [95% interval] in percent, languages pooled."""
    levels = r.difficulties
    rows = [[family, *(_pass1(r, family, difficulty=d) for d in levels), _pass1(r, family)] for family in r.families]
    return markdown_table(["family", *(f"level {d}" for d in levels), "all"], rows)


def open_prompts_table(o: OpenPromptResults) -> str:
    """Per language: how the greedy replies to open chat prompts end, loop and stay in language."""
    rows = [[lang or "all", o.count(lang), *(_with_interval(o.get(m, lang), o.interval(m, lang))
                                             for m in ("eos", "repetition", "language")),
             _one_decimal(o.get("length", lang))]
            for lang in [*o.langs, None]]
    return markdown_table(["lang", "prompts", f"ends with EOS (of {o.max_new_tokens} tokens) %",
                           "repeats a 4-gram > 3 times %", "language-consistent %", "mean length (tokens)"], rows)


def comparison_table(results: Mapping[str, EvalResults], metric: str = "pass@1") -> str:
    """Per family: `metric` of each stage (percent) and the change from the first to the last."""
    names = list(results)
    first, last = results[names[0]], results[names[-1]]
    families = list(dict.fromkeys(f for r in results.values() for f in r.families))
    rows = []
    for family in [*families, None]:
        values = [results[n].get(metric, family) for n in names]
        delta = last.get(metric, family) - first.get(metric, family)
        rows.append([family or "all", *map(_pct, values), f"{100 * delta:+.1f}"])
    return markdown_table(["family", *names, f"change ({names[0]} -> {names[-1]})"], rows)


def held_out_reward(r: EvalResults, weights: RewardWeights,
                    family: str | None = None) -> tuple[float, tuple[float, float]]:
    """The rule reward of a decoding's held-out answers (no partial credit: the evaluation does
    not measure it) and its 95% interval: Wilson's on the reward as a share of its maximum,
    problems counted once, which is conservative as for any mean of per-problem shares."""
    parts = {"pass@1": weights.accuracy, "format": weights.format, "language": weights.language}
    top = sum(parts.values())
    value = sum(w * r.get(metric, family) for metric, w in parts.items())
    if not top:
        return value, (value, value)
    lo, hi = wilson_interval(value / top, r.count(family))
    return value, (lo * top, hi * top)


def _reward_cell(r: EvalResults, weights: RewardWeights, family: str | None) -> str:
    value, (lo, hi) = held_out_reward(r, weights, family)
    return "n/a" if math.isnan(value) else f"{value:.3f} [{lo:.3f}, {hi:.3f}]"


def _rewarded(before: EvalResults, after: EvalResults) -> tuple[EvalResults, EvalResults]:
    """The decodings whose reward an RL table compares: the sampled ones where both have one
    (closer to the rollouts), else the greedy ones."""
    return (before.sampled, after.sampled) if before.sampled and after.sampled else (before, after)


def rl_table(before: EvalResults, after: EvalResults, weights: RewardWeights) -> str:
    """Per family (then all): held-out reward (_rewarded's decodings), greedy and sampled
    pass@1 before and after an RL stage, each with its 95% interval; "-" for a decoding not
    run."""
    rewarded = _rewarded(before, after)
    rows = []
    for family in [*dict.fromkeys(before.families + after.families), None]:
        rows.append([family or "all", after.count(family), *(_reward_cell(r, weights, family) for r in rewarded),
                     *(_pass1(r, family) for r in (before, after)),
                     *(_pass1(r.sampled, family) for r in (before, after))])
    return markdown_table(["family", "n", "reward before", "reward after", "greedy pass@1 % before",
                           "greedy pass@1 % after", "sampled pass@1 % before", "sampled pass@1 % after"], rows)


def rl_section(stage: str, before_name: str, before: EvalResults, after_name: str, after: EvalResults,
               weights: RewardWeights) -> str:
    """The markdown section of one RL stage: rl_table from `before_name` to `after_name`."""
    return "\n".join([
        f"## RL stage {stage}: {before_name} -> {after_name}, per family", "",
        f"Held-out reward ({_how(_rewarded(before, after)[1])}; weights accuracy {weights.accuracy}, format "
        f"{weights.format}, language {weights.language}; no partial credit) and pass@1 in percent, each with its "
        "95% interval over the problems.", "",
        rl_table(before, after, weights), ""])


def _pct_of(r: EvalResults | OpenPromptResults | None, metric: str = "pass@1") -> str:
    return "-" if r is None else _pct(r.get(metric))


def stages_table(results: Mapping[str, EvalResults]) -> str:
    """One row per evaluation: the headline numbers of every decoding and the time it took."""
    rows = [[name, _pct_of(r), _pct_of(r.sampled), _pct_of(r.unseen), _pct_of(r, "format"), _pct_of(r, "language"),
             _one_decimal(r.get("length")), _pct_of(r.open_prompts, "eos"), _pct_of(r.open_prompts, "repetition"),
             r.seconds] for name, r in results.items()]
    return markdown_table(["evaluation", "pass@1 %", "sampled pass@1 %", "unseen phrasings %", "well-formed %",
                           "language-consistent %", "mean length (tokens)", "open prompts ending %",
                           "open prompts looping %", "eval seconds"], rows)


def _final_sections(name: str, r: EvalResults) -> list[str]:
    """The final model's tables: pass@1 with intervals, by level, maj@k / pass@k, open prompts."""
    out = [f"## Held-out pass@1 (%), {name} model", "",
           f"{r.count()} eval-split problems; pass@1 in percent with its 95% Wilson interval over the "
           "problems. Sampled pass@1 is the mean over the samples of each problem (its interval still "
           "counts problems). Unseen phrasings: the same problems worded as training never saw, greedy.",
           "", pass1_table(r), ""]
    if r.difficulties:
        out += [f"### By difficulty level ({_how(r)} pass@1 %, languages pooled)", "", difficulty_table(r), ""]
    sampled = r.sampled or r
    if sampled.k > 1:
        out += [f"### maj@{sampled.k} (%)", "", results_table(sampled, "maj@k"), "",
                f"### pass@{sampled.k} (%)", "", results_table(sampled, "pass@k"), ""]
    if r.open_prompts is not None:
        out += ["## Open prompts", "",
                f"{r.open_prompts.count()} open chat prompts never trained on, one greedy reply each (up to "
                f"{r.open_prompts.max_new_tokens} tokens); percent with 95% Wilson intervals. Language-consistent: "
                "share of the reply (reasoning and answer) in the prompt's language.", "",
                open_prompts_table(r.open_prompts), ""]
    return out


def write_report(
    run_dir: str | Path,
    stages: Sequence[Mapping],
    results: EvalResults | Mapping[str, EvalResults],
    plots: Sequence[str | Path] | Mapping[str, str | Path] = (),
    *,
    title: str = "nanoseek run report",
    model: Mapping | None = None,
    notes: str | None = None,
    sections: Sequence[str] = (),
) -> Path:
    """Write `run_dir/report.md` and return its path.

    stages: one mapping per stage, rendered in order as a table (e.g. name, seconds, tokens,
    loss, mfu: whatever keys they have, in first-seen order). results: the final evaluation,
    or stage name -> evaluation in order (the last is the final one; with two or more a
    before/after table is added). plots: PNG paths (or title -> path), linked relative to
    run_dir. model: facts about the model (preset, parameters, ...). sections: markdown blocks
    placed after the evaluation tables (e.g. rl_section). notes: free markdown."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if isinstance(results, EvalResults):
        results = {"final": results}
    out = [f"# {title}", ""]
    if model:
        out += ["## Model", "", markdown_table(["", "value"], [[k, v] for k, v in model.items()]), ""]
    if stages:
        keys = list(dict.fromkeys(k for s in stages for k in s))
        out += ["## Stages", "", markdown_table(keys, [[s.get(k) for k in keys] for s in stages]), ""]
    if results:
        out += _final_sections(*list(results.items())[-1])
        if len(results) > 1:
            out += ["## Before / after (pass@1 %)", "", comparison_table(results, "pass@1"), ""]
        out += ["## Answer quality by stage", "", stages_table(results), ""]
    for section in sections:
        out += [section.strip(), ""]
    if plots:
        items = plots.items() if isinstance(plots, Mapping) else [(Path(p).stem, p) for p in plots]
        out += ["## Plots", ""]
        for caption, p in items:
            p = Path(p).resolve()
            rel = p.relative_to(run_dir.resolve()) if p.is_relative_to(run_dir.resolve()) else p
            out += [f"![{caption}]({rel.as_posix()})", ""]
    if notes:
        out += ["## Notes", "", notes.strip(), ""]
    path = run_dir / REPORT_FILE
    path.write_text("\n".join(out), encoding="utf-8")
    return path
