"""Column arithmetic with traces a small model can execute: addition and subtraction digit by
digit from the right (carries and borrows written where they happen), and long multiplication
with one partial product per digit.

The traces are compact and digit-aligned, and their digit lines are the same in every
language: only the header line is in words. Addition of 347 and 185:

    347 + 185, column by column from the right:
    7+5=12
    4+8+1=13
    3+1+1=5
    Answer: 532

Each line adds one column and the carry it received; the answer is the last line's sum
followed by the other lines' last digits, bottom up. Subtraction borrows by writing the
borrowed ten in front of the digit (`14-8=6`) and pays it back in the next column
(`3-1-1=1`); when the result is negative it subtracts the other way and negates.

Operands are our own draws (not reasoning-gym's) so that digit lengths and carries are
balanced: at level d both operands have d digits most of the time (the other operand
sometimes fewer), and the number of carries (borrows) is spread evenly over what d digits
allow. Levels: + and -, d-digit operands (d = 1..5); x, 1x1, 2x1, 2x2, 3x2, 3x3 digits.
"""

import random

from nanoseek.data.tasks.common import Family, Problem, build, check_number

HEADER = {
    "en": {"+": "{a} + {b}, column by column from the right:", "-": "{a} - {b}, column by column from the right:",
           "swap": "{a} < {b}, so I compute {b} - {a} and make it negative:",
           "×": "{a} × {b}, one partial product per digit of {b}:"},
    "es": {"+": "{a} + {b}, columna por columna desde la derecha:",
           "-": "{a} - {b}, columna por columna desde la derecha:",
           "swap": "{a} < {b}, así que calculo {b} - {a} y lo hago negativo:",
           "×": "{a} × {b}, un producto parcial por cada cifra de {b}:"},
    "zh": {"+": "{a} + {b}，从右往左逐位计算：", "-": "{a} - {b}，从右往左逐位计算：",
           "swap": "{a} < {b}，所以先算 {b} - {a}，再取负：", "×": "{a} × {b}，用 {b} 的每一位分别相乘："},
}
MULTIPLICATION_DIGITS = [(1, 1), (2, 1), (2, 2), (3, 2), (3, 3)]  # (digits of a, digits of b) per level
SAME_LENGTH = 0.7  # share of problems whose operands have the same number of digits
CARRY_TRIES = 30  # draws to hit the wanted number of carries before taking the last one


def digits(n: int, width: int) -> list[int]:
    """Digits of n, least significant first, zero-padded to width."""
    return [int(c) for c in str(n).zfill(width)][::-1]


def addition_lines(a: int, b: int) -> list[str]:
    """One line per column, right to left: `x+y(+carry)=sum`; the last line's sum is whole."""
    lines, carry = [], 0
    for x, y in zip(digits(a, len(str(max(a, b)))), digits(b, len(str(max(a, b))))):
        total = x + y + carry
        lines.append(f"{x}+{y}" + (f"+{carry}" if carry else "") + f"={total}")
        carry = total // 10
    return lines


def subtraction_lines(a: int, b: int) -> list[str]:
    """Columns of a - b for a >= b >= 0: `x-y(-borrow)=d`, or `1x-y(-borrow)=d` when the column
    borrows ten from the next one."""
    lines, borrow = [], 0
    for x, y in zip(digits(a, len(str(a))), digits(b, len(str(a)))):
        paid = f"-{borrow}" if borrow else ""
        if x - borrow < y:
            lines.append(f"1{x}-{y}{paid}={10 + x - borrow - y}")
            borrow = 1
        else:
            lines.append(f"{x}-{y}{paid}={x - borrow - y}")
            borrow = 0
    return lines


def multiplication_lines(a: int, b: int) -> list[str]:
    """`a×d=p` per nonzero digit d of b (shifted by its place: `a×40=p`), then the running sum."""
    lines, total = [], None
    for place, d in enumerate(digits(b, len(str(b)))):
        if d == 0 and b:  # a zero digit adds nothing: skip it as people do
            continue
        part = a * d * 10**place
        lines.append(f"{a}×{d * 10**place}={part}")
        if total is not None:
            lines.append(f"{total}+{part}={total + part}")
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


def make_additive(op: str):
    family = "addition" if op == "+" else "subtraction"

    def make(seed: int, index: int, difficulty: int, lang: str) -> Problem:
        a, b = additive_operands(random.Random(f"{family}/{seed}/{difficulty}/{index}"), op, difficulty)
        head = HEADER[lang]
        if op == "+":
            steps = [head["+"].format(a=a, b=b), *addition_lines(a, b)]
        elif a >= b:
            steps = [head["-"].format(a=a, b=b), *subtraction_lines(a, b)]
        else:
            steps = [head["swap"].format(a=a, b=b), *subtraction_lines(b, a)]
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
