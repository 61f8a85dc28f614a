import pytest

from nanoseek.data.rewards import (RewardWeights, accuracy_reward, combined_reward, digit_match, format_reward,
                                   language_reward, partial_credit)
from nanoseek.data.tasks import Problem

ADD = Problem("addition", "en", 1, "What is 37 + 45? Put your final answer in \\boxed{}.", "82",
              "", "addition:37+45")
GOOD = "<think>\n7 + 5 = 12, write 2 carry 1\n3 + 4 + 1 = 8, write 8\n</think>\n\nThe answer is \\boxed{82}."


@pytest.mark.parametrize("completion, expected", [
    (GOOD, 1.0),
    ("<think>x</think>\\boxed{82}", 1.0),
    ("<think>x</think>\\boxed{1,082}", 0.0),
    ("<think>x</think>\\boxed{81} no, \\boxed{82}", 1.0),  # the last box counts
    ("<think>\\boxed{82}</think> I am not sure", 0.0),  # a box inside the reasoning does not
    ("<think>still thinking \\boxed{82}", 0.0),
    ("82", 0.0),
])
def test_accuracy(completion, expected):
    assert accuracy_reward(completion, ADD) == expected


@pytest.mark.parametrize("completion, prefilled, expected", [
    (GOOD, False, 1.0),
    ("  <think>a</think>\\boxed{1}", False, 1.0),
    ("a</think>\\boxed{1}", True, 1.0),
    ("a</think>\\boxed{1}", False, 0.0),  # opener missing
    (GOOD, True, 0.0),  # opener repeated after the pre-filled one
    ("<think></think>\\boxed{1}", False, 0.0),  # empty reasoning
    ("<think>a</think>the answer is 1", False, 0.0),  # no box
    ("<think>a</think>\\boxed{ }", False, 0.0),  # empty box
    ("<think>a</think>\\boxed{1}</think>", False, 0.0),  # two closers
    ("\\boxed{1}<think>a</think>", False, 0.0),
])
def test_format(completion, prefilled, expected):
    assert format_reward(completion, think_prefilled=prefilled) == expected


@pytest.mark.parametrize("reasoning, lang, expected", [
    ("Add the units first, then the tens.", "en", 1.0),  # add the first then the: 5 en words
    ("Sumo las unidades y luego las decenas.", "es", 1.0),
    ("先加个位，再加十位。", "zh", 1.0),
    ("Add the units first, then the tens.", "es", 0.0),
    ("the sum es 12", "en", 2 / 3),  # the, sum: en; es: es
    ("先加 the units", "zh", 2 / 4),  # 2 CJK chars; 'the' en; 'units' unclassified
    ("3 + 4 = 7", "es", 1.0),  # nothing language-specific
    ("días", "en", 0.0),  # an accent marks Spanish
])
def test_language(reasoning, lang, expected):
    assert language_reward(f"<think>{reasoning}</think>\\boxed{{7}}", lang) == pytest.approx(expected)


def test_language_ignores_words_from_the_question_for_chinese():
    completion = "<think>执行 print(total)</think>\\boxed{7}"
    assert language_reward(completion, "zh") == pytest.approx(2 / 4)
    assert language_reward(completion, "zh", ignore="print(total)") == 1.0


def test_combined_is_the_weighted_sum():
    assert combined_reward(GOOD, ADD) == pytest.approx(1.0 + 0.2 + 0.1)
    half_english = "<think>\nla x is 82\n</think>\n\n\\boxed{81}"  # la: es, is: en
    weights = RewardWeights(accuracy=2.0, format=0.5, language=1.0)
    assert combined_reward(half_english, ADD, weights=weights) == pytest.approx(0.0 + 0.5 + 0.5)
    assert combined_reward("7 + 5</think>\\boxed{82}", ADD, think_prefilled=True) == pytest.approx(1.3)


@pytest.mark.parametrize("answer, target, expected", [
    ("82", "82", 1.0),
    ("81", "82", 0.5),  # the tens right, the units wrong
    ("182", "82", 2 / 3),  # aligned from the units: 8 and 2 right, over the longer length
    ("2", "82", 0.5),  # a dropped digit costs one position, the rest still align
    ("-82", "-82", 1.0),
    ("82", "-82", 0.0),  # the sign is wrong
    (" 28 ", "82", 0.0),
    ("8.2", "82", 0.0),  # not an integer
    ("82", "Tuesday", 0.0),
])
def test_digit_match(answer, target, expected):
    assert digit_match(answer, target) == pytest.approx(expected, abs=1e-12)


def test_partial_credit_counts_the_final_box_only():
    assert partial_credit(GOOD, ADD) == 1.0
    assert partial_credit("<think>x</think>\\boxed{81}", ADD) == 0.5
    assert partial_credit("<think>x</think>\\boxed{+82}", ADD) == 1.0  # verifies, though no plain integer
    assert partial_credit("<think>\\boxed{82}</think> no box", ADD) == 0.0
    day = Problem("calendar", "en", 1, "Which day?", "Tuesday", "", "calendar:x")
    assert partial_credit("<think>x</think>\\boxed{Tuesday}", day) == 1.0
    assert partial_credit("<think>x</think>\\boxed{Monday}", day) == 0.0  # no partly right weekday


def test_combined_adds_partial_credit_only_with_its_weight():
    wrong = "<think>\n7 + 5 = 12\n</think>\n\n\\boxed{81}"
    assert RewardWeights().partial == 0.0  # off by default
    with_partial = combined_reward(wrong, ADD, weights=RewardWeights(partial=0.4))
    assert with_partial == pytest.approx(combined_reward(wrong, ADD) + 0.4 * 0.5)
