"""The arithmetic traces: exact lines for known cases, answers that follow from the lines,
balanced operand lengths and carries."""

from collections import Counter

import pytest

from nanoseek.data.tasks import generate
from nanoseek.data.tasks.arithmetic import (
    addition_lines, carries, multiplication_lines, subtraction_lines,
)


def test_addition_writes_one_line_per_column_with_its_carry():
    assert addition_lines(347, 185) == ["7+5=12", "4+8+1=13", "3+1+1=5"]
    assert addition_lines(999, 1) == ["9+1=10", "9+0+1=10", "9+0+1=10"]
    assert addition_lines(5, 40) == ["5+0=5", "0+4=4"]


def test_subtraction_borrows_in_front_and_pays_back_in_the_next_column():
    assert subtraction_lines(347, 185) == ["7-5=2", "14-8=6", "3-1-1=1"]
    assert subtraction_lines(1000, 1) == ["10-1=9", "10-0-1=9", "10-0-1=9", "1-0-1=0"]


def test_multiplication_has_a_partial_product_per_nonzero_digit_and_running_sums():
    assert multiplication_lines(47, 85) == ["47×5=235", "47×80=3760", "235+3760=3995"]
    assert multiplication_lines(123, 405) == ["123×5=615", "123×400=49200", "615+49200=49815"]
    assert multiplication_lines(7, 0) == ["7×0=0"]


def test_carries_count_the_columns_that_carry_or_borrow():
    assert carries(347, 185, "+") == 2
    assert carries(999, 1, "+") == 3
    assert carries(347, 185, "-") == 1
    assert carries(1000, 1, "-") == 3


@pytest.mark.parametrize("lang", ["en", "es", "zh"])
def test_the_answer_reads_off_the_lines(lang):
    for p in generate("addition", 30, seed=4, lang=lang, difficulty=3):
        lines = p.trace.splitlines()[1:-1]
        sums = [line.split("=")[1] for line in lines]
        assert sums[-1] + "".join(s[-1] for s in reversed(sums[:-1])) == p.answer
    for p in generate("subtraction", 30, seed=4, lang=lang, difficulty=3):
        a, b = p.metadata["a"], p.metadata["b"]
        digits = "".join(line.split("=")[1] for line in reversed(p.trace.splitlines()[1:-1]))
        assert int(digits) == abs(a - b) and p.answer == str(a - b)


def test_digit_lines_are_the_same_in_every_language():
    lines = {lang: generate("subtraction", 5, seed=8, lang=lang, difficulty=4) for lang in ["en", "es", "zh"]}
    for en, es, zh in zip(lines["en"], lines["es"], lines["zh"]):
        assert en.trace.splitlines()[1:-1] == es.trace.splitlines()[1:-1] == zh.trace.splitlines()[1:-1]
        assert en.trace.splitlines()[0] != zh.trace.splitlines()[0]


def test_lengths_and_carries_are_balanced():
    problems = generate("addition", 600, seed=1, difficulty=3)
    pairs = [(p.metadata["a"], p.metadata["b"]) for p in problems]
    same_length = sum(len(str(a)) == len(str(b)) for a, b in pairs) / len(pairs)
    assert 0.65 < same_length < 0.9
    counts = Counter(carries(a, b, "+") for a, b in pairs)
    assert set(counts) == {0, 1, 2, 3} and min(counts.values()) > 0.15 * len(pairs)
    negative = sum(int(p.answer) < 0 for p in generate("subtraction", 300, seed=1, difficulty=3))
    assert 0.3 < negative / 300 < 0.7


def test_levels_set_the_digits():
    assert {len(str(p.metadata["a"])) for p in generate("multiplication", 20, seed=0, difficulty=3)} == {2}
    assert {len(str(p.metadata["b"])) for p in generate("multiplication", 20, seed=0, difficulty=3)} == {2}
    assert max(max(p.metadata["a"], p.metadata["b"]) for p in generate("addition", 50, seed=0, difficulty=1)) <= 9
