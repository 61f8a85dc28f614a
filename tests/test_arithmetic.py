"""The arithmetic traces: exact lines for known cases, answers that follow from the lines,
balanced operand lengths and carries."""

from collections import Counter

import pytest

from nanoseek.data.tasks import generate
from nanoseek.data.tasks.arithmetic import (
    addition_lines, carries, division_line, fact_drill, multiplication_lines, signed_difference_line,
    signed_product_line, subtraction_lines, subtraction_steps,
)
from nanoseek.data.tasks.common import evaluate


def test_addition_writes_one_line_per_column_with_its_carry():
    assert addition_lines(347, 185) == ["7+5=12", "4+8+1=13", "3+1+1=5"]
    assert addition_lines(999, 1) == ["9+1=10", "9+0+1=10", "9+0+1=10"]
    assert addition_lines(5, 40) == ["5+0=5", "0+4=4"]


def test_subtraction_borrows_after_a_negative_difference_and_pays_back_in_the_next_column():
    assert subtraction_lines(347, 185) == ["7-5=2", "4-8=-4+10=6", "3-1-1=1"]
    assert subtraction_lines(1000, 1) == ["0-1=-1+10=9", "0-0-1=-1+10=9", "0-0-1=-1+10=9", "1-0-1=0"]
    assert subtraction_lines(52, 52) == ["2-2=0", "5-5=0"]
    assert subtraction_lines(57, 64) == ["7-4=3", "5-6=-1+10=9"]  # a < b: the top column owes a borrow
    assert subtraction_lines(5, 40) == ["5-0=5", "0-4=-4+10=6"]


def test_subtraction_decides_the_sign_from_the_borrow_left_over():
    assert subtraction_steps(64, 57, "en") == ["64 - 57, column by column from the right:", "4-7=-3+10=7", "6-5-1=0"]
    assert subtraction_steps(57, 64, "en") == [
        "57 - 64, column by column from the right:", "7-4=3", "5-6=-1+10=9",
        "A borrow is left over, so 57 < 64: I compute 64 - 57 and make it negative:", "4-7=-3+10=7", "6-5-1=0"]
    assert subtraction_steps(5, 40, "zh") == [
        "5 - 40，从右往左逐位计算：", "5-0=5", "0-4=-4+10=6", "最高位还欠一个借位，所以 5 < 40：先算 40 - 5，再取负：",
        "0-5=-5+10=5", "4-0-1=3"]


def test_fact_drills_are_trace_lines_split_at_the_first_equals():
    import random

    drill = fact_drill(random.Random(0), "+-×", 600)
    assert len(drill) == 600 and all(left.endswith("=") and left.count("=") == 1 for left, _ in drill)
    for left, right in drill:
        x, op, y, carry = int(left[0]), left[1], int(left[2]), int(left[3:5] in ("+1", "-1"))
        if op == "+":
            assert right == str(x + y + carry)
        elif op == "-":
            r = x - y - carry
            assert right == (f"{r}+10={r + 10}" if r < 0 else str(r))
        else:  # a product digit's carry (0-8) is added after the product
            carry = int(right.partition("+")[2].split("=")[0] or 0)
            assert right == str(x * y) + (f"+{carry}={x * y + carry}" if carry else "")
    assert {(left[1], left[3:5] in ("+1", "-1")) for left, _ in drill} == {
        ("+", False), ("+", True), ("-", False), ("-", True), ("×", False)}
    assert {right.partition("+")[2].split("=")[0] for left, right in drill if "×" in left} == {"", *"12345678"}
    assert "4-8=-4+10=6" in {left + right for left, right in fact_drill(random.Random(1), "-", 2000)}


def test_division_drills_read_the_product_table_backwards():
    import random

    assert division_line(56, 7) == "56/7=8"
    drill = fact_drill(random.Random(0), "÷", 2000)
    facts = {(int(left[:-1].split("/")[0]), int(left[:-1].split("/")[1]), int(right)) for left, right in drill}
    assert all(n == d * q for n, d, q in facts)
    assert {(d, q) for _, d, q in facts} == {(d, q) for d in range(2, 10) for q in range(1, 10)}


def test_signed_drills_are_the_linear_equations_facts():
    import random

    assert signed_product_line(-2, 7) == "-2*7 = -14" and signed_product_line(3, -4) == "3*(-4) = -12"
    assert signed_difference_line(-2, 6) == "-2 - 6 = -8" and signed_difference_line(3, -4) == "3 + 4 = 7"
    drill = fact_drill(random.Random(0), "±", 2000)
    products = [left for left, _ in drill if "*" in left]
    assert 800 < len(products) < 1200 and {"-2*7 =", "3*(-4) ="} <= set(products)
    assert all(int(right) == evaluate(left[:-1].strip(), {}) for left, right in drill)


def test_multiplication_builds_partial_products_from_digits_and_adds_them_by_columns():
    assert multiplication_lines(47, 85) == [
        "7×5=35", "4×5=20+3=23", "47×5=235",
        "7×8=56", "4×8=32+5=37", "47×80=3760",
        "235 + 3760:", "5+0=5", "3+6=9", "2+7=9", "0+3=3", "235+3760=3995"]
    assert multiplication_lines(123, 405)[3:8] == ["123×5=615", "3×4=12", "2×4=8+1=9", "1×4=4", "123×400=49200"]
    assert multiplication_lines(123, 405)[-1] == "615+49200=49815"
    assert multiplication_lines(7, 8) == ["7×8=56"]
    assert multiplication_lines(7, 0) == ["7×0=0"]


@pytest.mark.parametrize("level", [2, 3, 4, 5])
def test_each_partial_product_reads_off_its_digit_lines(level):
    for p in generate("multiplication", 20, seed=level, difficulty=level):
        lines = p.trace.splitlines()[1:-1]
        digit_lines = []
        for line in lines:
            if "×" in line and line.split("×")[0].isdigit() and len(line.split("×")[0]) == 1:
                digit_lines.append(line.split("=")[-1])
            elif "×" in line:  # the partial product: the last line's value, then the others' last digits
                a, rest = line.split("×")
                factor, part = rest.split("=")
                shift = len(factor) - 1
                if int(part):
                    assert part == digit_lines[-1] + "".join(v[-1] for v in reversed(digit_lines[:-1])) + "0" * shift
                assert int(part) == int(a) * int(factor)
                digit_lines = []


def test_carries_count_the_columns_that_carry_or_borrow():
    assert carries(347, 185, "+") == 2
    assert carries(999, 1, "+") == 3
    assert carries(347, 185, "-") == 1
    assert carries(1000, 1, "-") == 3


@pytest.mark.parametrize("lang", ["en", "es", "zh"])
def test_the_answer_reads_off_the_lines(lang):
    for p in generate("addition", 30, seed=4, lang=lang, difficulty=3):
        lines = p.trace.splitlines()[1:-1]
        sums = [line.split("=")[-1] for line in lines]
        assert sums[-1] + "".join(s[-1] for s in reversed(sums[:-1])) == p.answer
    for p in generate("subtraction", 30, seed=4, lang=lang, difficulty=3):
        a, b = p.metadata["a"], p.metadata["b"]
        lines = p.trace.splitlines()[:-1]
        swap = [i for i, line in enumerate(lines) if f"{a} < {b}" in line]
        assert len(swap) == (a < b) and ("+10=" in lines[swap[0] - 1] if swap else True)
        digits = "".join(line.split("=")[-1] for line in reversed(lines[swap[0] + 1 if swap else 1:]))
        assert int(digits) == abs(a - b) and p.answer == str(a - b)


def test_digit_lines_are_the_same_in_every_language():
    lines = {lang: generate("subtraction", 5, seed=8, lang=lang, difficulty=4) for lang in ["en", "es", "zh"]}
    for en, es, zh in zip(lines["en"], lines["es"], lines["zh"]):
        digit_lines = [[line for line in p.trace.splitlines() if set(line) <= set("0123456789+-=")] for p in (en, es, zh)]
        assert digit_lines[0] == digit_lines[1] == digit_lines[2] and len(digit_lines[0]) >= 4
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
