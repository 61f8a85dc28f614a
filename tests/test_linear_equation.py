"""Linear equations: exact traces for known equations, every level's equations true at their
answer, and the numbers kept small (one-digit solution and divisor)."""

import pytest

from nanoseek.data.tasks import generate
from nanoseek.data.tasks.common import evaluate
from nanoseek.data.tasks.linear_equation import signed_sum_steps, steps_for


def test_a_bracket_and_the_variable_on_both_sides():
    assert steps_for([("()", 9, -3)], [("x", 2), ("c", -69)], "v", "en") == [
        "9*(v - 3) = 2*v - 69",
        "Expand: 9*(-3) = -27, so 9*v - 27 = 2*v - 69",
        "Collect v on the left: 9 - 2 = 7, so 7*v - 27 = -69",
        "Move the constant: 7*v = -69 + 27 = 27 - 69",
        "27 - 69, column by column from the right:", "7-9=-2+10=8", "2-6-1=-5+10=5",
        "A borrow is left over, so 27 < 69: I compute 69 - 27 and make it negative:", "9-7=2", "6-2=4",
        "7*v = -42",
        "Divide by 7: 42/7=6, v = -6",
    ]


def test_brackets_on_both_sides_write_each_constant_as_a_signed_fact_first():
    steps = steps_for([("()", -2, 7)], [("()", 3, -4), ("c", 5)], "m", "zh")
    assert steps[:3] == ["-2*(m + 7) = 3*(m - 4) + 5", "展开：-2*7 = -14，3*(-4) = -12，所以 -2*m - 14 = 3*m - 12 + 5",
                         "把 m 移到左边：-2 - 3 = -5，所以 -5*m - 14 = -7"]


def test_the_constant_first_or_on_the_right_is_rewritten_and_no_constant_moves_nothing():
    assert steps_for([("c", -75)], [("c", -12), ("x", 7)], "a", "es")[:3] == [
        "-75 = -12 + 7*a", "Reordeno: 7*a - 12 = -75", "Paso la constante al otro lado: 7*a = -75 + 12 = 12 - 75"]
    assert steps_for([("x", -4)], [("c", 36)], "k", "zh") == ["-4*k = 36", "两边除以 -4：36/4=9，k = -9"]


def test_a_signed_move_is_a_sum_or_difference_of_sizes():
    assert signed_sum_steps(51, -5, "en") == ("51 + 5", ["51 + 5, column by column from the right:", "1+5=6", "5+0=5"])
    assert signed_sum_steps(-51, 5, "en")[0] == "-51 - 5 = -(51 + 5)"
    assert signed_sum_steps(-51, -5, "en")[0] == "-51 + 5 = 5 - 51"
    assert signed_sum_steps(51, 5, "en") == ("51 - 5", ["51 - 5, column by column from the right:", "1-5=-4+10=6",
                                                        "5-0-1=4"])


@pytest.mark.parametrize("level", [1, 2, 3, 4, 5])
def test_every_equation_holds_at_its_answer_with_small_numbers(level):
    kinds = set()
    for p in generate("linear_equation", 60, seed=level, difficulty=level):
        x, value = p.metadata["variable"], int(p.answer)
        left, right = (side.replace(x, "X") for side in p.metadata["equation"].split(" = "))
        assert evaluate(left, {"X": value}) == evaluate(right, {"X": value})
        assert 1 <= abs(value) <= 9 and (level > 1 or value > 0)
        divide = p.trace.splitlines()[-2]
        assert divide.endswith(f"{x} = {value}") and int(divide.split("/")[1].split("=")[0]) in range(2, 10)
        kinds.add(("(" in p.metadata["equation"], "X" in right))
        assert p.canonical == "linear_equation:" + p.metadata["equation"].replace(x, "x").replace(" ", "")
    expected = {1: {(False, False)}, 2: {(False, False), (False, True)}, 3: {(False, True), (True, False)},
                4: {(True, True)}, 5: {(True, True)}}
    assert kinds == expected[level]
