"""The open chat prompts: enough of them, never trained on; their metrics on hand-made replies."""

import math

import pytest

from nanoseek.data.corpus import chatterbot_dialogues
from nanoseek.data.identity import identity_conversations
from nanoseek.eval.open_prompts import (OPEN_PROMPTS, OpenPrompt, OpenPromptResults, ends_with_eos, normalize,
                                        open_prompts, repeats, reply_language, score_open_prompts)
from nanoseek.eval.stats import wilson_interval

EOS = 1


def test_at_least_twenty_distinct_prompts_per_language():
    assert set(OPEN_PROMPTS) == {"en", "es", "zh"}
    assert all(len(set(map(normalize, prompts))) == len(prompts) >= 20 for prompts in OPEN_PROMPTS.values())
    assert len(open_prompts()) >= 60
    assert [p.lang for p in open_prompts(["zh"])] == ["zh"] * len(OPEN_PROMPTS["zh"])


@pytest.mark.parametrize("lang", ["en", "es", "zh"])
def test_no_prompt_is_a_training_user_turn_or_chatterbot_line(lang):
    trained = {normalize(m["content"]) for chat in identity_conversations(lang) for m in chat if m["role"] == "user"}
    trained |= {normalize(line) for dialogue in chatterbot_dialogues(lang) for line in dialogue}
    assert [p for p in OPEN_PROMPTS[lang] if normalize(p) in trained] == []


def test_normalize_folds_case_space_and_punctuation():
    assert normalize("  Hello,   WORLD! ") == normalize("hello world") == "helloworld"
    assert normalize("¿Qué tal?") == "quétal" and normalize("你好！") == normalize("你好") == "你好"


def test_ends_with_eos():
    assert ends_with_eos([5, 6, EOS], EOS)
    assert not ends_with_eos([5, EOS, 6], EOS)  # cut off after an end token it did not stop at
    assert not ends_with_eos([], EOS)


def test_repeats_a_token_4gram_more_than_three_times():
    assert repeats([1, 2, 3, 4] * 4)  # (1, 2, 3, 4) at 0, 4, 8, 12
    assert not repeats([1, 2, 3, 4] * 3 + [1, 2, 3])  # three times, then cut
    assert repeats([7] * 7)  # overlapping: (7, 7, 7, 7) at 0..3
    assert not repeats([7] * 6)
    assert not repeats([1, 2, 3]) and not repeats([])


def test_reply_language_reads_reasoning_and_answer():
    assert reply_language("你好\n</think>\n\nhello world", "zh") == 0.5  # 2 zh units, 2 Latin words
    text = "está aquí\n</think>\n\nthe is"  # 2 Spanish words (accents), 2 English ones
    assert reply_language(text, "es") == 0.5
    assert reply_language("está aquí", "es") == 1.0  # no answer yet: reasoning only


def test_score_open_prompts_rows_and_intervals():
    prompts = [OpenPrompt("en", "a"), OpenPrompt("en", "b"), OpenPrompt("zh", "c")]
    ids = [[5, 6, EOS], [1, 2, 3, 4] * 4, [9, EOS]]
    texts = ["fine thanks", "the the the", "好的"]
    r = score_open_prompts(prompts, ids, texts, eos_id=EOS, max_new_tokens=16)
    assert r.rows == [
        {"lang": "en", "n": 2, "eos": 0.5, "repetition": 0.5, "language": 1.0, "length": 9.5},
        {"lang": "zh", "n": 1, "eos": 1.0, "repetition": 0.0, "language": 1.0, "length": 2.0}]
    assert r.get("eos") == pytest.approx(2 / 3) and r.count() == 3 and r.langs == ["en", "zh"]
    assert r.interval("eos", "en") == wilson_interval(0.5, 2)
    assert r.samples[1] == {"lang": "en", "prompt": "b", "completion": "the the the", "eos": 0.0,
                            "repetition": 1.0, "language": 1.0, "length": 16.0}
    assert math.isnan(r.get("eos", "es"))
    assert OpenPromptResults.from_dict(r.to_dict()) == r


def test_the_closing_eos_is_not_part_of_a_loop():
    # [7, 7, 7, 7, 7, 7] + EOS: (7,7,7,7) three times only once EOS is set aside
    r = score_open_prompts([OpenPrompt("en", "a")], [[7] * 6 + [EOS]], ["x"], eos_id=EOS)
    assert r.get("repetition") == 0.0 and r.get("eos") == 1.0
