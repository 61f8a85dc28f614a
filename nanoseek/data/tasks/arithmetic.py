"""Column arithmetic: addition and subtraction (digit by digit, with carries and borrows)
and long multiplication (one partial product per digit). reasoning-gym draws the numbers;
we write the traces. Difficulty d gives (d+1)-digit operands for + and -, d-digit for x."""

from nanoseek.data.tasks.common import SEP, Family, Problem, build, check_number, rg_item, stream_seed

TEXT = {
    "en": {
        "ask": "What is {a} {op} {b}?",
        "columns": "{a} {op} {b}, column by column from the right:",
        "write": "write {d}", "carry": "carry {c}", "borrow": "borrow",
        "swap": "{a} < {b}, so compute {b} - {a} and make it negative:",
        "digits": "{a} × {b}, one partial product per digit of {b}:",
    },
    "es": {
        "ask": "¿Cuánto es {a} {op} {b}?",
        "columns": "{a} {op} {b}, columna por columna desde la derecha:",
        "write": "escribo {d}", "carry": "llevo {c}", "borrow": "pido prestado",
        "swap": "{a} < {b}, así que calculo {b} - {a} y lo hago negativo:",
        "digits": "{a} × {b}, un producto parcial por cada cifra de {b}:",
    },
    "zh": {
        "ask": "{a} {op} {b} 等于多少？",
        "columns": "{a} {op} {b}，从右往左逐位计算：",
        "write": "写{d}", "carry": "进{c}", "borrow": "借位",
        "swap": "{a} < {b}，所以先算 {b} - {a}，再取负：",
        "digits": "{a} × {b}，用 {b} 的每一位分别相乘：",
    },
}


def digits(n: int, width: int) -> list[int]:
    """Digits of n, least significant first, zero-padded to width."""
    return [int(c) for c in str(n).zfill(width)][::-1]


def addition_steps(a: int, b: int, t: dict, comma: str) -> list[str]:
    width = max(len(str(a)), len(str(b)))
    steps, carry = [], 0
    for i, (x, y) in enumerate(zip(digits(a, width), digits(b, width))):
        total = x + y + carry
        terms = f"{x} + {y}" + (f" + {carry}" if carry else "")
        if i == width - 1:  # the last column writes its whole sum, carry included
            steps.append(f"{terms} = {total}{comma}{t['write'].format(d=total)}")
        else:
            carry = total // 10
            note = t["write"].format(d=total % 10) + (comma + t["carry"].format(c=carry) if carry else "")
            steps.append(f"{terms} = {total}{comma}{note}")
    return steps


def subtraction_steps(a: int, b: int, t: dict, comma: str) -> list[str]:
    """Steps for a - b with a >= b >= 0."""
    width = len(str(a))
    steps, borrow = [], 0
    for x, y in zip(digits(a, width), digits(b, width)):
        top = f"{x} - {borrow}" if borrow else f"{x}"
        x -= borrow
        borrow = int(x < y)
        if borrow:
            steps.append(f"{top} - {y} < 0{comma}{t['borrow']}: {x + 10} - {y} = {x + 10 - y}")
        else:
            steps.append(f"{top} - {y} = {x - y}")
    return steps


def rg_operands(dataset: str, family: str, seed: int, difficulty: int, index: int, **config) -> tuple[int, int]:
    item = rg_item(dataset, stream_seed(family, seed, difficulty), index, **config)
    a, _, b = item["metadata"]["expression"].split()
    return int(a), int(b)


def make_additive(op: str):
    family = "addition" if op == "+" else "subtraction"

    def make(seed: int, index: int, difficulty: int, lang: str) -> Problem:
        a, b = rg_operands("basic_arithmetic", family, seed, difficulty, index, min_terms=2, max_terms=2,
                           min_digits=difficulty + 1, max_digits=difficulty + 1, operators=(op,),
                           allow_parentheses=False, allow_negation=False)
        t, comma = TEXT[lang], SEP[lang]
        steps = [t["columns"].format(a=a, op=op, b=b)]
        if op == "+":
            steps += addition_steps(a, b, t, comma)
        elif a >= b:
            steps += subtraction_steps(a, b, t, comma)
        else:
            steps[0] = t["swap"].format(a=a, b=b)
            steps += subtraction_steps(b, a, t, comma)
        answer = str(a + b if op == "+" else a - b)
        return build(family, lang, difficulty, t["ask"].format(a=a, op=op, b=b), answer, steps,
                     f"{a}{op}{b}", a=a, b=b)

    return make


def make_multiplication(seed: int, index: int, difficulty: int, lang: str) -> Problem:
    a, b = rg_operands("products", "multiplication", seed, difficulty, index,
                       min_digits=difficulty, max_digits=difficulty)
    t = TEXT[lang]
    steps = [t["digits"].format(a=a, b=b)]
    total = None
    for place, d in enumerate(digits(b, len(str(b)))):
        if d == 0 and b:  # a zero digit adds nothing: skip it like people do
            continue
        factor = d * 10**place
        steps.append(f"{a} × {factor} = {a * factor}")
        if total is not None:
            steps.append(f"{total} + {a * factor} = {total + a * factor}")
        total = a * factor if total is None else total + a * factor
    return build("multiplication", lang, difficulty, t["ask"].format(a=a, op="×", b=b), str(a * b),
                 steps, f"{a}*{b}", a=a, b=b)


FAMILIES = [
    Family("addition", make_additive("+"), check_number),
    Family("subtraction", make_additive("-"), check_number),
    Family("multiplication", make_multiplication, check_number),
]
