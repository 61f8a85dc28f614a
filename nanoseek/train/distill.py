"""Distillation, as DeepSeek-R1 distilled its reasoning into smaller dense models: a larger
teacher writes traces for training problems, only verified ones are kept (correct, well
formed, one language: the rejection-sampling filter), and a smaller student is fine-tuned on
them. With `rl_config` the same student is also trained by GRPO directly, so the report
compares the two roads to a reasoning student (R1 found distillation the stronger one for
small models).

    nanoseek rl --recipe distill --teacher runs/big --model runs/small_sft --out runs/distill
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from nanoseek.data.tasks import FAMILIES, LANGUAGES
from nanoseek.train.grpo import GRPOConfig
from nanoseek.eval.evaluate import EvalConfig, load_checkpoint
from nanoseek.train.recipes import RecipeResult, _Recipe
from nanoseek.train.rejection import rejection_sample, train_problems
from nanoseek.train.trainer import TrainConfig


@dataclass
class DistillConfig:
    families: tuple[str, ...] = FAMILIES
    langs: tuple[str, ...] = LANGUAGES
    per_family: int = 16  # training problems per family and language
    k: int = 4  # teacher samples per problem
    per_problem: int = 1  # kept traces per problem at most
    temperature: float = 0.7
    max_new_tokens: int = 160
    sft: TrainConfig = field(default_factory=lambda: TrainConfig(
        steps=80, lr=3e-4, warmup_steps=5, schedule="cosine", save_every=0, progress=False))
    seq_len: int = 384
    batch_size: int = 8
    seed: int = 0


def distill(teacher_dir: str | Path, student_dir: str | Path, out_dir: str | Path,
            config: DistillConfig | None = None, *, rl_config: GRPOConfig | None = None,
            evaluation: EvalConfig | None = None) -> RecipeResult:
    """Teacher traces -> verified -> SFT of the student (out_dir/distilled); optionally GRPO of
    the student for comparison (out_dir/student_rl). Evaluates teacher, student before, and
    each trained student on the same held-out problems."""
    cfg = config or DistillConfig()
    rec = _Recipe(out_dir, evaluation or EvalConfig())
    teacher_dir, student_dir = Path(teacher_dir), Path(student_dir)
    rec.eval("teacher", teacher_dir)
    rec.eval("student", student_dir)
    t = time.perf_counter()
    teacher, tokenizer = load_checkpoint(teacher_dir)
    _, student_tokenizer = load_checkpoint(student_dir)
    if tokenizer.backend.to_str() != student_tokenizer.backend.to_str():
        raise ValueError("teacher and student must share a tokenizer (traces are re-encoded as text, "
                         "but the chat format's special tokens must agree)")
    problems = train_problems(cfg.families, cfg.langs, cfg.per_family, seed=cfg.seed + 7)
    chats, stats = rejection_sample(teacher, tokenizer, problems, cfg.k, per_problem=cfg.per_problem,
                                    max_new_tokens=cfg.max_new_tokens, temperature=cfg.temperature, seed=cfg.seed)
    del teacher
    rec.out_dir.mkdir(parents=True, exist_ok=True)
    with open(rec.out_dir / "teacher_traces.jsonl", "w", encoding="utf-8") as f:
        for chat in chats:
            f.write(json.dumps({"messages": chat}, ensure_ascii=False) + "\n")
    rec.stage("teacher_traces", time.perf_counter() - t, **stats)
    if not chats:
        raise ValueError(f"the teacher produced no verified trace in {stats['samples']} samples: "
                         "use a stronger teacher or more samples")
    final = rec.sft("distilled", student_dir, chats, cfg.sft, cfg.seq_len, cfg.batch_size, cfg.seed)
    rec.eval("distilled", final)
    if rl_config is not None:
        rl_dir = rec.rl("student_rl", student_dir, rl_config)
        rec.eval("student_rl", rl_dir)
    note = f"The teacher's traces: {stats['kept']} kept of {stats['samples']} samples " \
           f"({100 * stats['correct']:.0f}% correct)."
    return rec.finish(final, "Distillation: teacher traces -> student SFT", note)


__all__ = ["DistillConfig", "distill"]
