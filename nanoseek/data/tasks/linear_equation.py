"""Linear equations in one variable with small integers, solved as a person writes it: expand
the brackets, collect the variable on the left, move the constant, divide.

    7*x - 5 = 51
    Move the constant: 7*x = 51 + 5
    51 + 5, column by column from the right:
    1+5=6
    5+0=5
    7*x = 56
    Divide by 7: 56/7=8, x = 8
    Answer: 8

The arithmetic inside is the arithmetic families' own: the constant moves with the column
lines of addition and subtraction (a signed sum written as a sum or difference of sizes
first), products and differences of coefficients are one-digit facts written out before
the line that uses them (`Expand: -2*7 = -14, so ...`; signed facts are drilled), and the division is
a one-digit fact read backwards (`56/7=8`, drilled beside the other tables), because the
coefficient and the solution are one-digit. A division done in one step on larger numbers
was the part a small model never learned (docs/experiments.md).

Levels: 1 `a*x + b = c` with positive numbers; 2 any signs, the constant first or the sides
swapped; 3 the variable on both sides, or a bracket; 4 a bracket and the variable on both
sides; 5 brackets on both sides.
"""

import random

from nanoseek.data.tasks.arithmetic import (HEADER, addition_lines, division_line, signed_difference_line,
                                            signed_product_line, subtraction_steps)
from nanoseek.data.tasks.common import Family, Problem, build, check_number

CONSTANTS = 20  # largest size of a constant term
VARIABLES = "abcdefghjkmnpqrstuvwxyz"  # no i, l, o: read as 1 and 0

TEXT = {
    "en": {"ask": "Solve for {x}: {equation}.", "expand": "Expand: {facts}, so {eq}", "rewrite": "Rewrite: {eq}",
           "collect": "Collect {x} on the left: {difference}, so {eq}", "move": "Move the constant: {eq}",
           "divide": "Divide by {a}: {division}, {x} = {value}"},
    "es": {"ask": "Resuelve para {x}: {equation}.", "expand": "Desarrollo: {facts}, así que {eq}", "rewrite": "Reordeno: {eq}",
           "collect": "Paso {x} a la izquierda: {difference}, así que {eq}",
           "move": "Paso la constante al otro lado: {eq}", "divide": "Divido entre {a}: {division}, {x} = {value}"},
    "zh": {"ask": "解关于 {x} 的方程：{equation}。", "expand": "展开：{facts}，所以 {eq}", "rewrite": "整理：{eq}",
           "collect": "把 {x} 移到左边：{difference}，所以 {eq}", "move": "移项：{eq}",
           "divide": "两边除以 {a}：{division}，{x} = {value}"},
}

# A side is a list of parts: ("x", a) is a*x, ("c", b) the constant b, ("()", k, m) k*(x + m).
Part = tuple


def term(a: int, x: str) -> str:
    return x if a == 1 else f"-{x}" if a == -1 else f"{a}*{x}"


def part_text(part: Part, x: str) -> str:
    kind, *values = part
    if kind == "x":
        return term(values[0], x)
    if kind == "c":
        return str(values[0])
    k, m = values
    return f"{k}*({x} {'+' if m >= 0 else '-'} {abs(m)})"


def side_text(parts: list[Part], x: str) -> str:
    """Parts joined with their signs: `-5 + 3*x`, `2*(x - 4) - 7`."""
    text = part_text(parts[0], x)
    for part in parts[1:]:
        written = part_text(part, x)
        text += f" - {written[1:]}" if written.startswith("-") else f" + {written}"
    return text


def equation_text(left: list[Part], right: list[Part], x: str) -> str:
    return f"{side_text(left, x)} = {side_text(right, x)}"


def expanded(parts: list[Part]) -> list[Part]:
    """Brackets multiplied out: k*(x + m) -> k*x + k*m."""
    return [q for p in parts for q in ([("x", p[1]), ("c", p[1] * p[2])] if p[0] == "()" else [p])]


def coefficient(parts: list[Part]) -> int:
    return sum(p[1] for p in parts if p[0] == "x")


def constant(parts: list[Part]) -> int:
    return sum(p[1] for p in parts if p[0] == "c")


def signed_sum_steps(c: int, b: int, lang: str) -> tuple[str, list[str]]:
    """c - b for signed c and b: how the move line writes it (`51 + 5`, `-51 - 5 = -(51 + 5)`,
    `-51 + 5 = 5 - 51`) and the column lines that compute it (a sum or difference of sizes)."""
    move = f"{c} - {b}" if b > 0 else f"{c} + {-b}"
    if c >= 0 and b < 0:
        return move, [HEADER[lang]["+"].format(a=c, b=-b), *addition_lines(c, -b)]
    if c >= 0:
        return move, subtraction_steps(c, b, lang)
    if b > 0:
        return f"{move} = -({-c} + {b})", [HEADER[lang]["+"].format(a=-c, b=b), *addition_lines(-c, b)]
    return f"{move} = {-b} - {-c}", subtraction_steps(-b, -c, lang)


def one_digit(rng: random.Random, low: int = 1) -> int:
    """A number of size low..9 with a random sign."""
    return rng.choice((-1, 1)) * rng.randint(low, 9)


def constant_term(value: int) -> list[Part]:
    return [("c", value)] if value else []


def draw(rng: random.Random, difficulty: int) -> tuple[list[Part], list[Part], int]:
    """(left side, right side, solution) of a level's equation. The solution and the
    coefficient left once the variable is collected (a) are one-digit and nonzero; so are
    the coefficients and bracket terms as written; constants are at most CONSTANTS in size."""
    if difficulty == 1:
        value, a = rng.randint(1, 9), rng.randint(2, 9)
        b = rng.randint(1 - a * value, CONSTANTS)  # the right side stays positive
        return [("x", a), *constant_term(b)], [("c", a * value + b)], value
    value, a, b = one_digit(rng), one_digit(rng, 2), rng.choice([n for n in range(-CONSTANTS, CONSTANTS + 1) if n])
    if difficulty == 2:
        left = [("x", a), ("c", b)] if rng.random() < 0.5 else [("c", b), ("x", a)]
        return (([("c", a * value + b)], left) if rng.random() < 0.3 else (left, [("c", a * value + b)])) + (value,)
    while True:  # the variable's coefficient on the right (a_right), such that the left one is one-digit too
        a_right = one_digit(rng)
        if 2 <= abs(a + a_right) <= 9:
            break
    m, m_right = one_digit(rng), one_digit(rng)
    if difficulty == 3 and rng.random() < 0.5:  # a bracket, the variable on one side
        return [("()", a, m)], [("c", a * (value + m))], value
    if difficulty == 3:  # the variable on both sides
        left, right = [("x", a + a_right), ("c", b)], [("x", a_right)]
    elif difficulty == 4:
        left, right = [("()", a + a_right, m)], [("x", a_right)]
    else:
        left, right = [("()", a + a_right, m)], [("()", a_right, m_right)] if abs(a_right) > 1 else [("x", a_right)]
    rest = sum(evaluate_part(p, value) for p in left) - sum(evaluate_part(p, value) for p in right)
    return left, right + constant_term(rest), value


def evaluate_part(part: Part, value: int) -> int:
    kind, *numbers = part
    return numbers[0] * value if kind == "x" else numbers[0] if kind == "c" else numbers[0] * (value + numbers[1])


def steps_for(left: list[Part], right: list[Part], x: str, lang: str) -> list[str]:
    """The trace's lines: the equation, then expand, collect (or rewrite), move, divide."""
    t = TEXT[lang]
    steps = [equation_text(left, right, x)]
    brackets = [p for p in left + right if p[0] == "()"]
    if brackets:  # each bracket's constant as a one-digit fact first, then the expanded equation
        facts = ("，" if lang == "zh" else ", ").join(signed_product_line(k, m) for _, k, m in brackets)
        left, right = expanded(left), expanded(right)
        steps.append(t["expand"].format(facts=facts, eq=equation_text(left, right, x)))
    if not coefficient(left):  # the variable only on the right: swap the sides
        left, right = right, left
    a1, a2 = coefficient(left), coefficient(right)
    a, b, c = a1 - a2, constant(left), constant(right)
    normal, normal_right = [("x", a), *constant_term(b)], [("c", c)]
    if a2:
        steps.append(t["collect"].format(x=x, difference=signed_difference_line(a1, a2),
                                         eq=equation_text(normal, normal_right, x)))
    elif (left, right) != (normal, normal_right):
        steps.append(t["rewrite"].format(eq=equation_text(normal, normal_right, x)))
    if b:
        move, columns = signed_sum_steps(c, b, lang)
        steps += [t["move"].format(eq=f"{term(a, x)} = {move}"), *columns, f"{term(a, x)} = {c - b}"]
    value = (c - b) // a
    steps.append(t["divide"].format(a=a, division=division_line(abs(c - b), abs(a)), x=x, value=value))
    return steps


def make(seed: int, index: int, difficulty: int, lang: str) -> Problem:
    rng = random.Random(f"linear_equation/{seed}/{difficulty}/{index}")
    left, right, value = draw(rng, difficulty)
    x = rng.choice(VARIABLES)
    equation = equation_text(left, right, x)
    return build("linear_equation", lang, difficulty, TEXT[lang]["ask"].format(x=x, equation=equation), str(value),
                 steps_for(left, right, x, lang), equation_text(left, right, "x").replace(" ", ""),
                 equation=equation, variable=x)


FAMILIES = [Family("linear_equation", make, check_number)]
