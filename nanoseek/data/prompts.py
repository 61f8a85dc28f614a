"""How a question becomes a model prompt, and a completion its text: the templates that RL,
evaluation and rejection sampling share.

- "chat": DeepSeek-R1's chat template, which ends the prompt with `<think>\\n` pre-filled;
- "r1-zero": R1-Zero's plain-text template (DeepSeek-R1 paper, table 1) adapted to our tags:
  the answer goes in `\\boxed{}` after `</think>` rather than in `<answer>` tags, so the same
  rewards apply; it also ends with `<think>\\n`.
"""

from __future__ import annotations

TEMPLATES = ("chat", "r1-zero")

R1_ZERO_TEMPLATE = (
    "A conversation between User and Assistant. The User asks a question, and the Assistant "
    "solves it. The Assistant first thinks about the reasoning process in the mind and then "
    "provides the User with the answer. The reasoning process is enclosed within <think> "
    "</think> tags and the final answer follows them inside \\boxed{{}}, i.e., <think> reasoning "
    "process here </think> answer here \\boxed{{answer}}. User: {question} Assistant: <think>\n"
)


def render_prompt(tokenizer, question: str, template: str = "chat") -> list[int]:
    """Token ids of a question under a template; both end inside the reasoning (`<think>\\n`)."""
    if template == "chat":
        return tokenizer.encode_chat([{"role": "user", "content": question}], add_generation_prompt=True)[0]
    if template == "r1-zero":
        return [tokenizer.bos_id] + tokenizer.encode(R1_ZERO_TEMPLATE.format(question=question))
    raise ValueError(f"template must be one of {TEMPLATES}, got {template!r}")


def completion_text(tokenizer, completion: list[int]) -> str:
    """A completion's text without the end-of-sentence token that stopped it."""
    if completion and completion[-1] == tokenizer.eos_id:
        completion = completion[:-1]
    return tokenizer.decode(completion)
