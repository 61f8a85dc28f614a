"""Code output: predict what a short generated Python snippet prints. reasoning-gym has no
small generator for this, so we build programs from a tiny grammar (assignments, a counted
loop, an if on i % m, one print) and execute them ourselves with the safe evaluator, which
also writes the line-by-line trace. Tests hold the answer equal to what the sandbox prints."""

import random
from dataclasses import dataclass

from nanoseek.data.tasks.common import Family, Problem, build, check_number, evaluate, stream_seed

TEXT = {
    "en": {"ask": "What does this Python code print?\n```python\n{code}\n```", "trace": "Run it line by line:"},
    "es": {"ask": "¿Qué imprime este código de Python?\n```python\n{code}\n```",
           "trace": "Lo ejecuto línea por línea:"},
    "zh": {"ask": "这段 Python 代码会输出什么？\n```python\n{code}\n```", "trace": "逐行执行："},
}


@dataclass(frozen=True)
class Loop:
    count: int
    then: tuple[str, str]  # (variable, expression) assigned each iteration
    modulus: int = 0  # 0: no if; else `if i % modulus == 0: then` `else: orelse`
    orelse: tuple[str, str] = ("", "")


def num(rng: random.Random, lo: int = 1, hi: int = 9) -> str:
    return str(rng.randint(lo, hi))


def term(rng: random.Random) -> str:
    return rng.choice(["i", f"i * {num(rng, 2, 3)}", num(rng)])


def random_program(rng: random.Random, difficulty: int) -> tuple[list[tuple[str, str]], Loop | None, str]:
    """(assignments, optional loop, printed expression); difficulty adds lines, then a
    loop, then a branch, then a second accumulator."""
    if difficulty == 1:
        return [("a", num(rng)), ("b", f"a {rng.choice('+-*')} {num(rng)}")], None, "b"
    if difficulty == 2:
        op = rng.choice(["+", "-", "*", "//", "%"])
        return ([("a", num(rng, 10, 30)), ("b", num(rng, 2, 9)), ("c", f"a {op} b")], None,
                f"c {rng.choice('+-')} {rng.choice('ab')}")
    if difficulty == 3:
        return [("s", num(rng, 0, 5))], Loop(rng.randint(3, 4), ("s", f"s {rng.choice('+-')} {term(rng)}")), "s"
    if difficulty == 4:
        loop = Loop(rng.randint(4, 5), ("s", f"s + {term(rng)}"), 2, ("s", f"s - {term(rng)}"))
        return [("s", num(rng, 0, 5))], loop, "s"
    return ([("s", num(rng, 0, 5)), ("t", num(rng, 0, 5))],
            Loop(rng.randint(4, 6), ("s", f"s + {term(rng)}"), rng.randint(2, 3), ("t", "t + s")), "s + t")


def render(assigns: list[tuple[str, str]], loop: Loop | None, shown: str) -> str:
    lines = [f"{v} = {e}" for v, e in assigns]
    if loop:
        lines.append(f"for i in range({loop.count}):")
        if loop.modulus:
            lines += [f"    if i % {loop.modulus} == 0:", f"        {loop.then[0]} = {loop.then[1]}",
                      "    else:", f"        {loop.orelse[0]} = {loop.orelse[1]}"]
        else:
            lines.append(f"    {loop.then[0]} = {loop.then[1]}")
    return "\n".join([*lines, f"print({shown})"])


def run(assigns: list[tuple[str, str]], loop: Loop | None, shown: str) -> tuple[list[str], int]:
    """Execute the program; returns (trace lines, printed value)."""
    env, steps = {}, []

    def assign(var: str, expr: str) -> str:
        env[var] = evaluate(expr, env)
        return f"{var} = {expr}" + ("" if expr == str(env[var]) else f" = {env[var]}")

    steps += [assign(v, e) for v, e in assigns]
    for i in range(loop.count if loop else 0):
        env["i"] = i
        if loop.modulus:
            hit = i % loop.modulus == 0
            var, expr = loop.then if hit else loop.orelse
            steps.append(f"i = {i}: i % {loop.modulus} == 0 {hit}, {assign(var, expr)}")
        else:
            steps.append(f"i = {i}: {assign(*loop.then)}")
    value = evaluate(shown, env)
    steps.append(f"print({shown}) → {value}")
    return steps, value


def make(seed: int, index: int, difficulty: int, lang: str) -> Problem:
    rng = random.Random(stream_seed("code_output", seed, difficulty) + index)
    program = random_program(rng, difficulty)
    code = render(*program)
    steps, value = run(*program)
    t = TEXT[lang]
    question = t["ask"].format(code=code)
    return build("code_output", lang, difficulty, question, str(value), [t["trace"], *steps], code, code=code)


FAMILIES = [Family("code_output", make, check_number)]
