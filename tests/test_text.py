"""Text above the engine: incremental detokenization and the <think> splitter."""

import random

import pytest
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from nanoseek.serve.text import IncrementalDetokenizer, ThinkSplitter

TEXT = "Hello 世界! 你好，我们来想一想 🤔🎉 then the answer: 42 ✅. Ça va? 日本語テキスト 👩‍👩‍👧"


@pytest.fixture(scope="module")
def tokenizer():
    """A tiny byte-level BPE: multi-byte characters end up split across tokens."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=["<think>", "</think>"])
    tok.train_from_iterator(["hello world the answer " * 20, "世界 你好"], trainer)
    return tok


def test_multibyte_characters_are_split_across_tokens(tokenizer):
    ids = tokenizer.encode("🤔").ids
    assert len(ids) > 1 and any("\ufffd" in tokenizer.decode([i]) for i in ids)


@pytest.mark.parametrize("chunk", [1, 2, 3])
def test_detokenizer_never_emits_broken_characters(tokenizer, chunk):
    ids = tokenizer.encode(TEXT).ids
    detok = IncrementalDetokenizer(tokenizer.decode)
    pieces = [detok.push(ids[i : i + chunk]) for i in range(0, len(ids), chunk)] + [detok.flush()]
    assert all("\ufffd" not in p for p in pieces)
    assert "".join(pieces) == TEXT


def test_think_splitter_with_tags_split_anywhere():
    text = "<think>\nLet me think: 2+2.\n</think>\n\nThe answer is 4."
    rng = random.Random(0)
    for _ in range(200):
        cuts = sorted(rng.sample(range(1, len(text)), rng.randint(0, 12)))
        chunks = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)])]
        splitter = ThinkSplitter()
        reasoning = content = ""
        for c in chunks:
            out = splitter.push(c)
            reasoning, content = reasoning + out.reasoning, content + out.content
        out = splitter.flush()
        assert (reasoning + out.reasoning, content + out.content) == ("Let me think: 2+2.", "The answer is 4.")


def test_think_splitter_prefilled_opener_and_unclosed_reasoning():
    splitter = ThinkSplitter(in_think=True)  # the R1 prompt already ends with "<think>\n"
    a = splitter.push("step one </thi")
    b = splitter.push("nk>answer <thin")
    c = splitter.flush()
    assert a.reasoning + b.reasoning == "step one" and b.content + c.content == "answer <thin"
    unclosed = ThinkSplitter(in_think=True)
    out = unclosed.push("still thinking < 3")
    rest = unclosed.flush()
    assert out.reasoning + rest.reasoning == "still thinking < 3" and not out.content


def test_streamed_text_equals_final_text(tokenizer):
    full = "<think>\n想一想 🤔 about it\n</think>\n\n答案是 42 🎉"
    ids = tokenizer.encode(full).ids
    detok = IncrementalDetokenizer(lambda ids: tokenizer.decode(ids, skip_special_tokens=False))
    splitter = ThinkSplitter(in_think=False)
    reasoning = content = ""
    for i in ids:
        out = splitter.push(detok.push([i]))
        assert "\ufffd" not in out.reasoning + out.content
        reasoning, content = reasoning + out.reasoning, content + out.content
    out = splitter.push(detok.flush())
    out += splitter.flush()
    assert (reasoning + out.reasoning, content + out.content) == ("想一想 🤔 about it", "答案是 42 🎉")
