"""Rejection sampling: turn a model's own samples into SFT data by keeping only the good ones.

R1's third stage: sample several completions per training problem from the RL checkpoint and
keep those that are correct (the verifier agrees), well formed (`<think>` reasoning, then a
boxed answer) and written in one language (the question's). The kept traces, rendered as
chats, fine-tune the next model. Distillation uses the same filter on a teacher's samples.
"""

from __future__ import annotations

import random
from typing import Sequence

import torch

from nanoseek.data.prompts import completion_text, render_prompt
from nanoseek.data.rewards import accuracy_reward, format_reward, language_reward
from nanoseek.data.tasks import FAMILIES, LANGUAGES, Problem, generate, levels
from nanoseek.tokenizer import split_reasoning


def accept(problem: Problem, completion: str, *, think_prefilled: bool = True, min_language: float = 1.0) -> bool:
    """Correct, well formed and single-language (language_reward >= min_language)."""
    return (accuracy_reward(completion, problem) == 1.0
            and format_reward(completion, think_prefilled=think_prefilled) == 1.0
            and language_reward(completion, problem.lang, ignore=problem.question) >= min_language)


def to_chat(problem: Problem, completion: str) -> list[dict]:
    """A kept completion as an SFT chat (reasoning in reasoning_content, the answer as content)."""
    reasoning, answer = split_reasoning(completion)
    return [{"role": "user", "content": problem.question},
            {"role": "assistant", "content": answer, "reasoning_content": reasoning}]


def train_problems(families: Sequence[str] = FAMILIES, langs: Sequence[str] = LANGUAGES, n_per: int = 20,
                   seed: int = 0, max_difficulty: int | None = None) -> list[Problem]:
    """n_per train-split problems per (family, lang), spread over levels 1..max_difficulty."""
    problems = []
    for family in families:
        top = min(levels(family), max_difficulty or levels(family))
        for lang in langs:
            for i in range(n_per):
                problems += generate(family, 1, seed=seed * 100_003 + i, split="train", lang=lang,
                                     difficulty=1 + i % top)
    return problems


def rejection_sample(model, tokenizer, problems: list[Problem], k: int = 4, *, per_problem: int = 1,
                     max_new_tokens: int = 256, temperature: float = 0.7, top_p: float = 0.95, seed: int = 0,
                     template: str = "chat", max_slots: int = 64) -> tuple[list[list[dict]], dict]:
    """Sample k completions per problem, keep up to `per_problem` distinct accepted ones each.
    Returns (chats, stats) with stats = {problems, samples, kept, correct, well_formed}."""
    from nanoseek.inference import Engine, SamplingParams

    prompts = [render_prompt(tokenizer, p.question, template) for p in problems]
    max_len = min(model.config.max_position_embeddings, max(map(len, prompts)) + max_new_tokens + 1)
    engine = Engine(model, max_slots=min(max_slots, len(prompts) * k), max_len=max_len)
    ids, params = [], []
    for i, prompt in enumerate(prompts):
        for j in range(k):
            ids.append(prompt)
            params.append(SamplingParams(max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p,
                                         seed=random.Random(f"rejection/{seed}/{i}/{j}").getrandbits(63),
                                         stop_token_ids=(tokenizer.eos_id,)))
    with torch.no_grad():
        done = engine.generate(ids, params)
    chats, correct, formed = [], 0, 0
    for i, problem in enumerate(problems):
        kept: list[str] = []
        for j in range(k):
            text = completion_text(tokenizer, done[i * k + j].token_ids)
            correct += accuracy_reward(text, problem) == 1.0
            formed += format_reward(text, think_prefilled=True) == 1.0
            if len(kept) < per_problem and text not in kept and accept(problem, text):
                kept.append(text)
        chats += [to_chat(problem, t) for t in kept]
    stats = {"problems": len(problems), "samples": len(done), "kept": len(chats),
             "correct": correct / max(1, len(done)), "well_formed": formed / max(1, len(done))}
    return chats, stats
