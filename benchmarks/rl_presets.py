"""GRPO presets against today's defaults: the same SFT checkpoint, the same wall-time budget per
preset, the held-out evaluation before (once) and after each run.

    python benchmarks/rl_presets.py --model runs/speedrun/sft --minutes 10 \
        [--presets default,nanochat,edge] [--profile speedrun] [--out runs/rl_presets] [--eval-k 4]

Every run is the profile's GRPO settings (the speedrun's by default: batch, lr, families, levels)
with a preset's settings over them (nanoseek.train.grpo.PRESETS): "default" is the profile as
it is, "nanochat" nanochat's chat_rl (on-policy, no KL, token mean, r - group mean, T = 1),
"edge" the pass-rate window and dynamic sampling. The budget is GRPOConfig.max_seconds (rollouts
and updates; evaluation not counted), so run it on an otherwise idle machine. Prints the table
per preset (reward, greedy and sampled pass@1 per family before and after, 95% intervals) and a
summary; out/report.md has the same with the plots (pass-rate window, dynamic sampling's groups).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nanoseek.eval.report import markdown_table, rl_section  # noqa: E402
from nanoseek.speedrun import PROFILES, profile  # noqa: E402
from nanoseek.train.recipes import RecipeResult, compare_presets  # noqa: E402


def _share(r, metric: str = "pass@1") -> str:
    """"41.2 [30.1, 52.9]": the share over every family, in percent, with its 95% interval."""
    if r is None:
        return "-"
    lo, hi = r.interval(metric)
    return f"{100 * r.get(metric):.1f} [{100 * lo:.1f}, {100 * hi:.1f}]"


def summary(result: RecipeResult) -> str:
    """One row per preset: steps and seconds its budget bought, pass@1 over every family."""
    rows = [[s["stage"], s["steps"], s["seconds"], s["reward"], _share(result.results[s["stage"]]),
             _share(result.results[s["stage"]].sampled)] for s in result.stages]
    before = result.results["before"]
    rows.insert(0, ["before", 0, 0.0, "", _share(before), _share(before.sampled)])
    return markdown_table(["preset", "steps", "RL seconds", "train reward (first -> last step)",
                           "greedy pass@1 %", "sampled pass@1 %"], rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="the SFT checkpoint every run starts from")
    p.add_argument("--out", default="runs/rl_presets", help="a new directory: one run per preset, report.md")
    p.add_argument("--presets", default="default,nanochat", help="comma-separated GRPOConfig presets")
    p.add_argument("--minutes", type=float, default=10.0, help="RL wall time per preset")
    p.add_argument("--steps", type=int, default=100_000, help="a ceiling on steps (the budget decides)")
    p.add_argument("--profile", default="speedrun", choices=PROFILES, help="whose GRPO and eval settings")
    p.add_argument("--eval-n", type=int, help="problems per family and language (default: the profile's)")
    p.add_argument("--eval-k", type=int, help="samples per problem of the sampled decoding (default: the profile's)")
    args = p.parse_args()

    prof = profile(args.profile)
    base = replace(prof.rl, steps=args.steps, max_seconds=60 * args.minutes, save_every=0)
    evaluation = replace(prof.eval, **{k: v for k, v in (("n_per", args.eval_n), ("k", args.eval_k)) if v is not None})
    if evaluation.k == 0:  # sampled pass@1 is half of what the comparison is about
        evaluation = replace(evaluation, k=1)
    result = compare_presets(args.model, args.out, [s.strip() for s in args.presets.split(",") if s.strip()],
                             base, evaluation=evaluation)
    before = result.results["before"]
    for stage in result.stages:
        name = stage["stage"]
        print(rl_section(name, "before", before, name, result.results[name], base.with_preset(name).reward))
    print("## Summary\n\n" + summary(result))
    print(f"\nreport: {result.report}")


if __name__ == "__main__":
    main()
