"""Column arithmetic with traces a small model can execute: addition and subtraction digit by
digit from the right (carries and borrows written where they happen), and long multiplication
from one-digit products and column additions.

The traces are compact and digit-aligned, and their digit lines are the same in every
language: only the header line is in words. Addition of 347 and 185:

    347 + 185, column by column from the right:
    7+5=12
    4+8+1=13
    3+1+1=5
    Answer: 532

Each line adds one column and the carry it received; the answer is the last line's sum
followed by the other lines' last digits, bottom up. Subtraction writes a column's signed
difference first and borrows only when it is negative (`4-8=-4+10=6`), and the next column
pays the ten back (`3-1-1=1`): every decision follows the digits it depends on, which a
small model learns far sooner than deciding to borrow before writing the column (see
docs/experiments.md). The sign is decided the same way: a - b is always tried first, and
only a borrow left over after the top column says a < b; then the trace subtracts the other
way and negates. Deciding a < b up front, before any digit is written, was where most
subtraction traces went wrong.

Operands are our own draws (not reasoning-gym's) so that digit lengths and carries are
balanced: at level d both operands have d digits most of the time (the other operand
sometimes fewer), and the number of carries (borrows) is spread evenly over what d digits
allow. Levels: + and -, d-digit operands (d = 1..5); x, 1x1, 2x1, 2x2, 3x2, 3x3 digits.
"""

import random

from nanoseek.data.tasks.common import Family, Problem, build, check_number

HEADER = {
    "en": {"+": "{a} + {b}, column by column from the right:", "-": "{a} - {b}, column by column from the right:",
           "swap": "A borrow is left over, so {a} < {b}: I compute {b} - {a} and make it negative:",
           "×": "{a} × {b}, one partial product per digit of {b}:"},
    "es": {"+": "{a} + {b}, columna por columna desde la derecha:",
           "-": "{a} - {b}, columna por columna desde la derecha:",
           "swap": "Queda una llevada sin pagar, así que {a} < {b}: calculo {b} - {a} y lo hago negativo:",
           "×": "{a} × {b}, un producto parcial por cada cifra de {b}:"},
    "zh": {"+": "{a} + {b}，从右往左逐位计算：", "-": "{a} - {b}，从右往左逐位计算：",
           "swap": "最高位还欠一个借位，所以 {a} < {b}：先算 {b} - {a}，再取负：", "×": "{a} × {b}，用 {b} 的每一位分别相乘："},
}
MULTIPLICATION_DIGITS = [(1, 1), (2, 1), (2, 2), (3, 2), (3, 3)]  # (digits of a, digits of b) per level
SAME_LENGTH = 0.7  # share of problems whose operands have the same number of digits
CARRY_TRIES = 30  # draws to hit the wanted number of carries before taking the last one


def digits(n: int, width: int) -> list[int]:
    """Digits of n, least significant first, zero-padded to width."""
    return [int(c) for c in str(n).zfill(width)][::-1]


def addition_line(x: int, y: int, carry: int) -> str:
    """One column: `x+y=s`, or `x+y+1=s` when the column receives a carry."""
    return f"{x}+{y}" + (f"+{carry}" if carry else "") + f"={x + y + carry}"


def subtraction_line(x: int, y: int, borrow: int) -> str:
    """One column: `x-y=d`, `x-y-1=d` when paying a borrow back, and when the difference r
    is negative `...=r+10=d` (the ten is borrowed from the next column, which pays it back).
    Every decision comes after the digits it depends on are written."""
    r = x - y - borrow
    return f"{x}-{y}" + (f"-{borrow}" if borrow else "") + f"={r}" + (f"+10={r + 10}" if r < 0 else "")


def product_line(x: int, d: int, carry: int) -> str:
    """One digit of a partial product: `x×d=p`, or `x×d=p+c=q` when the column receives a carry."""
    return f"{x}×{d}={x * d}" + (f"+{carry}={x * d + carry}" if carry else "")


def division_line(dividend: int, divisor: int) -> str:
    """An exact division whose divisor and quotient are one-digit, `56/7=8`: the product
    table read backwards (linear equations end with one)."""
    return f"{dividend}/{divisor}={dividend // divisor}"


def signed_product_line(k: int, m: int) -> str:
    """A bracket's constant in a linear equation, k*(x + m) -> k*m: `-2*7 = -14`, `3*(-4) = -12`."""
    return f"{k}*{m if m >= 0 else f'({m})'} = {k * m}"


def signed_difference_line(a1: int, a2: int) -> str:
    """A variable's coefficients collected on the left, a1 - a2 in the equation's signs:
    `-2 - 6 = -8`, `3 + 4 = 7`."""
    return (f"{a1} - {a2}" if a2 > 0 else f"{a1} + {-a2}") + f" = {a1 - a2}"


def addition_lines(a: int, b: int) -> list[str]:
    """One line per column, right to left (`addition_line`); the last line's sum is whole."""
    lines, carry = [], 0
    for x, y in zip(digits(a, len(str(max(a, b)))), digits(b, len(str(max(a, b))))):
        lines.append(addition_line(x, y, carry))
        carry = (x + y + carry) // 10
    return lines


def subtraction_lines(a: int, b: int) -> list[str]:
    """Columns of a - b (a, b >= 0), right to left (`subtraction_line`); when a < b the top
    column is left owing a borrow (its line ends in `+10=d`)."""
    width = len(str(max(a, b)))
    lines, borrow = [], 0
    for x, y in zip(digits(a, width), digits(b, width)):
        lines.append(subtraction_line(x, y, borrow))
        borrow = int(x - y - borrow < 0)
    return lines


def subtraction_steps(a: int, b: int, lang: str) -> list[str]:
    """The trace of a - b: its columns, and when the top column still owes a borrow (a < b)
    the columns of b - a after a line that says the answer is their negative."""
    steps = [HEADER[lang]["-"].format(a=a, b=b), *subtraction_lines(a, b)]
    if a < b:
        steps += [HEADER[lang]["swap"].format(a=a, b=b), *subtraction_lines(b, a)]
    return steps


def fact_drill(rng: random.Random, ops: str, n_lines: int) -> list[tuple[str, str]]:
    """n_lines one-digit facts in the traces' own line formats, as (left of the first `=`
    with it, the rest): `7+5+1=` / `13`, `4-7=` / `-3+10=7`, `7×8=` / `56+3=59`, `56/7=` / `8`,
    and for "±" the signed facts of linear equations, `-2*7 =` / ` -14`, `-2 - 6 =` / ` -8`.
    The one-digit tables are what a small model learns last from traces alone (each problem
    holds only a few of them); a drilled fact costs a line, not a whole problem."""
    lines = []
    for _ in range(n_lines):
        op, x, y = rng.choice(ops), rng.randrange(10), rng.randrange(10)
        c = rng.randrange(9 if op == "×" else 2)  # a product digit receives carries up to 8
        if op == "÷":
            divisor, quotient = rng.randint(2, 9), rng.randint(1, 9)
            line = division_line(divisor * quotient, divisor)
        elif op == "±":
            k, m = (rng.choice((-1, 1)) * rng.randint(1, 9) for _ in range(2))
            line = (signed_product_line if rng.random() < 0.5 else signed_difference_line)(k, m)
        else:
            line = {"+": addition_line, "-": subtraction_line, "×": product_line}[op](x, y, c)
        left, _, right = line.partition("=")
        lines.append((left + "=", right))
    return lines


def multiplication_lines(a: int, b: int) -> list[str]:
    """Long multiplication from one-digit steps. For each nonzero digit d of b (right to left):
    a×d digit by digit (`product_line`), then the partial product shifted to d's place
    (`47×80=3760`, read off the digit lines as an addition's answer is). Each partial after
    the first is added to the running total column by column (`addition_lines`), and the
    sum is written whole (`235+3760=3995`)."""
    lines: list[str] = []
    total = None
    for place, d in enumerate(digits(b, len(str(b)))):
        if d == 0 and b:  # a zero digit adds nothing: skip it as people do
            continue
        carry = 0
        if a >= 10:
            for x in digits(a, len(str(a))):
                lines.append(product_line(x, d, carry))
                carry = (x * d + carry) // 10
        part = a * d * 10**place
        lines.append(f"{a}×{d * 10**place}={part}")
        if total is not None:
            lines += [f"{total} + {part}:", *addition_lines(total, part), f"{total}+{part}={total + part}"]
        total = part if total is None else total + part
    return lines


def carries(a: int, b: int, op: str) -> int:
    """How many columns carry (op "+") or borrow (op "-", a >= b) when computing a op b."""
    count, carry = 0, 0
    width = len(str(max(a, b)))
    for x, y in zip(digits(a, width), digits(b, width)):
        carry = int(x + y + carry >= 10) if op == "+" else int(x - carry < y)
        count += carry
    return count


def number(rng: random.Random, n_digits: int) -> int:
    return rng.randrange(10 ** (n_digits - 1) if n_digits > 1 else 0, 10**n_digits)


def additive_operands(rng: random.Random, op: str, d: int) -> tuple[int, int]:
    """Two operands for level d: lengths balanced, number of carries (borrows) spread evenly."""
    other = d if rng.random() < SAME_LENGTH else rng.randint(1, d)
    wanted = rng.randint(0, d if op == "+" else d - 1)
    for _ in range(CARRY_TRIES):
        a, b = number(rng, d), number(rng, other)
        if rng.random() < 0.5:
            a, b = b, a
        if carries(max(a, b), min(a, b), op) == wanted:
            break
    return a, b


def close_difference(problem) -> bool:
    """Whether a subtraction's operands have as many digits as each other and their difference
    fewer (`627 - 593 = 34`, `132 - 190 = -58`): the top column's line ends in 0 or borrows, and
    the answer drops a leading zero. A quarter of 3-digit subtractions are such; they failed
    most (docs/experiments.md, run 15)."""
    a, b = problem.metadata["a"], problem.metadata["b"]
    return len(str(a)) == len(str(b)) > 1 and len(str(abs(a - b))) < len(str(a))


def make_additive(op: str):
    family = "addition" if op == "+" else "subtraction"

    def make(seed: int, index: int, difficulty: int, lang: str) -> Problem:
        a, b = additive_operands(random.Random(f"{family}/{seed}/{difficulty}/{index}"), op, difficulty)
        head = HEADER[lang]
        if op == "+":
            steps = [head["+"].format(a=a, b=b), *addition_lines(a, b)]
        else:
            steps = subtraction_steps(a, b, lang)
        answer = str(a + b if op == "+" else a - b)
        return build(family, lang, difficulty, f"{a} {op} {b} = ?", answer, steps, f"{a}{op}{b}", a=a, b=b)

    return make


def make_multiplication(seed: int, index: int, difficulty: int, lang: str) -> Problem:
    rng = random.Random(f"multiplication/{seed}/{difficulty}/{index}")
    da, db = MULTIPLICATION_DIGITS[difficulty - 1]
    a, b = number(rng, da), number(rng, db)
    steps = [HEADER[lang]["×"].format(a=a, b=b), *multiplication_lines(a, b)]
    return build("multiplication", lang, difficulty, f"{a} × {b} = ?", str(a * b), steps, f"{a}*{b}", a=a, b=b)


FAMILIES = [
    Family("addition", make_additive("+"), check_number),
    Family("subtraction", make_additive("-"), check_number),
    Family("multiplication", make_multiplication, check_number),
]
