import random

import pytest
import torch

from nanoseek.data.corpus import IGNORE_INDEX
from nanoseek.data.mixture import (
    MixtureConfig, MixtureStream, difficulty_weights, draw_problem, sft_chats, task_chats, token_table,
)
from nanoseek.data.tasks.common import split_of
from nanoseek.tokenizer import train_tokenizer


@pytest.fixture(scope="module")
def tokenizer():
    texts = [c[0]["content"] + c[1]["reasoning_content"] for c in task_chats(300, MixtureConfig(), seed=0)]
    return train_tokenizer(texts, 600)


def test_curriculum_opens_levels_in_order_and_weighs_the_newest_double():
    assert difficulty_weights(5, 0.0, 0.5) == [2, 0, 0, 0, 0]
    assert difficulty_weights(5, 0.25, 0.5) == [1, 1, 2, 0, 0]
    assert difficulty_weights(5, 0.5, 0.5) == [1, 1, 1, 1, 2]
    assert difficulty_weights(5, 0.9, 0.5) == [1, 1, 1, 1, 2]
    assert difficulty_weights(3, 0.0, 0.0) == [1, 1, 2]
    assert difficulty_weights(1, 0.0, 0.5) == [1.0]


def test_bad_config_names_the_field():
    with pytest.raises(ValueError, match="MixtureConfig.families"):
        MixtureConfig(families={"poetry": 1.0})
    with pytest.raises(ValueError, match="MixtureConfig.shares"):
        MixtureConfig(shares={"tasks": 0.0})
    with pytest.raises(ValueError, match="MixtureConfig.curriculum"):
        MixtureConfig(curriculum=2.0)


def test_batches_are_shifted_and_train_only_the_assistant_in_chats(tokenizer):
    stream = MixtureStream(tokenizer, MixtureConfig(shares={"tasks": 1.0}), batch_size=2, seq_len=128, steps=10)
    ids, labels = next(stream)
    assert ids.shape == labels.shape == (2, 128) and ids.dtype == torch.int64
    row_ids, row_labels = ids[0].tolist(), labels[0].tolist()
    trained = [i for i, y in enumerate(row_labels) if y != IGNORE_INDEX]
    assert trained and all(row_labels[i] == row_ids[i + 1] for i in trained if i + 1 < 128)
    assert row_ids[0] == tokenizer.bos_id
    # the token after <｜User｜> (the question) is never a target
    assert all(row_labels[i] == IGNORE_INDEX for i, t in enumerate(row_ids) if t == tokenizer.user_id)


def test_batches_are_a_function_of_the_step_and_resume_exactly(tokenizer):
    config = MixtureConfig()
    a = MixtureStream(tokenizer, config, batch_size=2, seq_len=48, steps=10)
    first = [next(a) for _ in range(3)]
    b = MixtureStream(tokenizer, config, batch_size=2, seq_len=48, steps=10)
    next(b)
    state = b.state_dict()
    c = MixtureStream(tokenizer, config, batch_size=2, seq_len=48, steps=10)
    c.load_state_dict(state)
    for want in first[1:]:
        got = next(c)
        assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])
    assert c.tokens == a.tokens
    other_rank = MixtureStream(tokenizer, config, batch_size=2, seq_len=48, steps=10, rank=1)
    assert not torch.equal(next(other_rank)[0], first[0][0])


def test_a_shorter_run_length_moves_the_curriculum_as_a_stream_made_that_long(tokenizer):
    config = MixtureConfig(shares={"tasks": 1.0}, max_difficulty=3)
    planned = MixtureStream(tokenizer, config, batch_size=2, seq_len=48, steps=1000)
    planned.set_run_length(6)  # a time budget's plan
    short = MixtureStream(tokenizer, config, batch_size=2, seq_len=48, steps=6)
    long = MixtureStream(tokenizer, config, batch_size=2, seq_len=48, steps=1000)
    batches = [(next(planned)[0], next(short)[0], next(long)[0]) for _ in range(6)]
    assert all(torch.equal(p, s) for p, s, _ in batches)
    assert not all(torch.equal(p, q) for p, _, q in batches)  # late steps draw harder levels


def test_tokens_are_counted_per_family_and_language(tokenizer):
    config = MixtureConfig(shares={"tasks": 1.0}, families={"addition": 1.0}, langs={"es": 1.0})
    stream = MixtureStream(tokenizer, config, batch_size=4, seq_len=64, steps=5)
    _, labels = next(stream)
    assert list(stream.tokens) == ["addition/es"]
    assert stream.tokens["addition/es"] == int((labels != IGNORE_INDEX).sum())  # every row starts with bos


def test_early_batches_hold_only_the_easiest_level():
    config = MixtureConfig(shares={"tasks": 1.0}, families={"addition": 1.0}, langs={"en": 1.0})
    early = task_chats(40, config, seed=0, progress=0.0)
    late = task_chats(200, config, seed=0, progress=1.0)
    digits = lambda chat: max(len(w) for w in chat[1]["reasoning_content"].split("\n")[0].split(",")[0].split(" + "))
    assert {digits(c) for c in early} == {1}
    assert {digits(c) for c in late} == {1, 2, 3, 4, 5}


def test_task_chats_are_train_split_and_sft_adds_identity_chats():
    config = MixtureConfig(langs={"zh": 1.0})
    rng = random.Random(0)
    assert {split_of(draw_problem(rng, config, 1.0).canonical) for _ in range(200)} == {"train"}
    chats = task_chats(30, config, seed=3)
    assert chats == task_chats(30, config, seed=3)
    assert all(c[1]["content"].startswith("答案是 \\boxed{") for c in chats)
    both = sft_chats(30, MixtureConfig(langs={"zh": 1.0}, shares={"tasks": 0.75, "chat": 0.25}), seed=3)
    assert len(both) == 40 and all(c in both for c in chats)


def test_token_table_has_a_row_per_source_and_a_column_per_language():
    header, rows = token_table({"addition/en": 30, "addition/zh": 10, "chat/es": 40, "text": 20})
    assert header == ["source", "en", "es", "zh", "all", "share"]
    assert rows == [["addition", 30, 0, 10, 40, "40.0%"], ["chat", 0, 40, 0, 40, "40.0%"],
                    ["text", 0, 0, 0, 20, "20.0%"]]


def test_drill_documents_train_what_follows_each_first_equals(tokenizer):
    config = MixtureConfig(shares={"drills": 1.0}, families={"subtraction": 1.0})
    stream = MixtureStream(tokenizer, config, batch_size=1, seq_len=120, steps=5)
    ids, labels = next(stream)
    assert list(stream.tokens) == ["drills"]
    ids, labels = ids[0].tolist(), labels[0].tolist()
    assert ids[0] == tokenizer.bos_id
    # token j (j >= 1) is trained when labels[j - 1] names it; split the text by that
    pieces = [(tokenizer.decode([t]), labels[j - 1] != IGNORE_INDEX) for j, t in enumerate(ids) if j > 0]
    lines, asked, answered = [], "", ""
    for text, trained in pieces:
        if trained:
            answered += text
        else:
            assert not answered, "a trained token before the line's question ended"
            asked += text
        if text.endswith("\n"):
            lines.append((asked, answered))
            asked, answered = "", ""
    assert len(lines) >= 10
    for asked, answered in lines:
        x, y = int(asked[0]), int(asked[2])
        borrow = int(asked == f"{x}-{y}-1=")
        assert asked == f"{x}-{y}" + ("-1" if borrow else "") + "="
        r = x - y - borrow
        assert answered == (f"{r}+10={r + 10}" if r < 0 else str(r)) + "\n"
    with pytest.raises(ValueError, match="no family with drilled facts"):
        MixtureConfig(shares={"tasks": 1.0, "drills": 1.0}, families={"logic": 1.0})


def test_close_subtractions_are_drawn_for_their_share_above_level_one():
    from nanoseek.data.mixture import draw_problem
    from nanoseek.data.tasks.arithmetic import close_difference

    def draws(share: float):
        config = MixtureConfig(families={"subtraction": 1.0}, max_difficulty=3, close_subtractions=share)
        rng = random.Random(0)
        return [draw_problem(rng, config, progress=1.0) for _ in range(600)]

    every, none = draws(1.0), draws(0.0)
    assert all(close_difference(p) for p in every if p.difficulty > 1)
    assert not any(close_difference(p) for p in every if p.difficulty == 1)  # one-digit operands never are
    natural = sum(close_difference(p) for p in none if p.difficulty > 1) / sum(p.difficulty > 1 for p in none)
    assert 0.1 < natural < 0.3  # the generator's own share, left as it is when the knob is 0
    with pytest.raises(ValueError, match="close_subtractions must be in"):
        MixtureConfig(close_subtractions=1.5)


def test_close_difference_means_equal_lengths_and_a_shorter_difference():
    from nanoseek.data.tasks import generate
    from nanoseek.data.tasks.arithmetic import close_difference

    problems = generate("subtraction", 200, seed=3, difficulty=3)
    for p in problems:
        a, b = p.metadata["a"], p.metadata["b"]
        assert close_difference(p) == (len(str(a)) == len(str(b)) and abs(a - b) < 10 ** (len(str(a)) - 1))
    assert any(close_difference(p) for p in problems) and not all(close_difference(p) for p in problems)
