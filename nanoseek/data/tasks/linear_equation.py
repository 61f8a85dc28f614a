"""Linear equations in one variable (reasoning-gym's simple_equations), solved step by
step: bring to a*x + b = c, move the constant, divide by the coefficient."""

from fractions import Fraction

from nanoseek.data.tasks.common import Family, Problem, build, check_number, evaluate, rg_item, stream_seed

LEVELS = [(2, 10), (2, 20), (3, 30), (3, 60), (4, 100)]  # (terms, largest value) per difficulty

TEXT = {
    "en": {"ask": "Solve for {x}: {equation}.", "simplify": "Simplify: {eq}",
           "move": "Move the constant: {eq}", "divide": "Divide by {a}: {eq}"},
    "es": {"ask": "Resuelve para {x}: {equation}.", "simplify": "Simplifico: {eq}",
           "move": "Paso la constante al otro lado: {eq}", "divide": "Divido entre {a}: {eq}"},
    "zh": {"ask": "解关于 {x} 的方程：{equation}。", "simplify": "化简：{eq}",
           "move": "移项：{eq}", "divide": "两边除以 {a}：{eq}"},
}


def linear_form(side: str, x: str) -> tuple[Fraction, Fraction]:
    """(a, b) with side == a*x + b, read off by evaluating at x = 0 and x = 1."""
    b = Fraction(evaluate(side, {x: 0}))
    return Fraction(evaluate(side, {x: 1})) - b, b


def term(a: Fraction, x: str) -> str:
    return x if a == 1 else f"-{x}" if a == -1 else f"{a}*{x}"


def signed(value: Fraction) -> str:
    return f"+ {value}" if value >= 0 else f"- {-value}"


def make(seed: int, index: int, difficulty: int, lang: str) -> Problem | None:
    terms, largest = LEVELS[difficulty - 1]
    item = rg_item("simple_equations", stream_seed("linear_equation", seed, difficulty), index,
                   min_terms=terms, max_terms=terms, max_value=largest)
    equation, x = item["metadata"]["equation"], item["metadata"]["variable"]
    (a1, b1), (a2, b2) = (linear_form(side, x) for side in equation.split("="))
    a, b, c = a1 - a2, b1, b2  # a*x + b = c
    if a == 0 or (c - b) % a:
        return None  # degenerate or non-integer: not a clean exercise
    t, value = TEXT[lang], (c - b) / a
    steps = [equation]
    normal = f"{term(a, x)} {signed(b)} = {c}" if b else f"{term(a, x)} = {c}"
    if normal != equation:
        steps.append(t["simplify"].format(eq=normal))
    if b:
        steps.append(t["move"].format(eq=f"{term(a, x)} = {c} {signed(-b)} = {c - b}"))
    if a != 1:
        steps.append(t["divide"].format(a=a, eq=f"{x} = {c - b} / {a} = {value}"))
    return build("linear_equation", lang, difficulty, t["ask"].format(x=x, equation=equation), str(value),
                 steps, equation.replace(" ", ""), equation=equation, variable=x)


FAMILIES = [Family("linear_equation", make, check_number)]
