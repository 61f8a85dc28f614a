"""Tiny data for the training tests: a word-salad corpus, a 300-token BPE, packed shards."""

from __future__ import annotations

import random
from pathlib import Path

WORDS = "the cat sat on a mat and dog ran to big red house with small blue car".split()


def make_shards(directory: Path, docs: int = 300, vocab_size: int = 300) -> Path:
    """Shards + tokenizer.json in `directory` (about 15k tokens), built in about a second."""
    from nanoseek.data.corpus import pack_shards
    from nanoseek.tokenizer import train_tokenizer

    rng = random.Random(0)
    texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 80))) for _ in range(docs)]
    tokenizer = train_tokenizer(texts, vocab_size)
    pack_shards(texts, tokenizer, directory, shard_tokens=4096)
    tokenizer.save(directory)
    return directory


def chats(n: int = 40) -> list[list[dict]]:
    """Small arithmetic chats with a worked trace, in R1's format."""
    rng = random.Random(1)
    out = []
    for _ in range(n):
        a, b = rng.randint(1, 9), rng.randint(1, 9)
        out.append([
            {"role": "user", "content": f"what is {a} + {b}?"},
            {"role": "assistant", "content": f"The answer is \\boxed{{{a + b}}}.",
             "reasoning_content": f"{a} plus {b} is {a + b}."},
        ])
    return out


class FakeTokenizer:
    """Stands in for a Tokenizer where only prompt ids are needed (TaskPrompts): a token per text."""

    bos_id, eos_id = 0, 1

    def encode(self, text):
        return [2 + len(text) % 50]

    def encode_chat(self, messages, add_generation_prompt=False):
        return [0, 5 + len(messages[0]["content"]) % 50], [0, 0]
