"""Countdown: reach a target from given numbers with + - * /, each number at most once.
reasoning-gym draws solvable puzzles; our own depth-first search (closest result first)
writes the trace: the first dead end it hit, then the path that reached the target. Level 1
has two numbers, where the search is the four operations tried in order, each written out
(the one step every deeper search is built from)."""

import ast
from collections import Counter

from nanoseek.data.tasks.common import SEP, Family, Problem, build, evaluate, rg_item, stream_seed

# (how many numbers, largest number, target range) per difficulty
LEVELS = [(2, 10, 5, 50), (3, 10, 10, 50), (3, 20, 20, 100), (4, 25, 50, 200), (4, 50, 100, 500)]
BUDGET = 20_000  # search nodes; puzzles that need more are skipped, not solved slowly

TEXT = {
    "en": {"ask": "Using the numbers {numbers_text}, each at most once, and + - * /, "
                  "write an expression equal to {target}.",
           "goal": "Reach {target} with {numbers}.", "dead": "{path} ✗ dead end, back up", "found": "{path} ✓"},
    "es": {"ask": "Con los números {numbers_text}, cada uno como mucho una vez, y + - * /, "
                  "escribe una expresión que valga {target}.",
           "goal": "Llegar a {target} con {numbers}.", "dead": "{path} ✗ sin salida, retrocedo", "found": "{path} ✓"},
    "zh": {"ask": "用数字 {numbers_text}（每个最多用一次）和 + - * /，写出一个等于 {target} 的算式。",
           "goal": "用 {numbers} 凑出 {target}。", "dead": "{path} ✗ 走不通，回退", "found": "{path} ✓"},
}

# An item is (value, expression, precedence); precedence 3 = number, 2 = * /, 1 = + -.
Item = tuple[int, str, int]


def wrap(item: Item, below: int) -> str:
    return f"({item[1]})" if item[2] <= below else item[1]


def moves(a: Item, b: Item) -> list[tuple[str, Item]]:
    """Useful ways to combine two numbers: larger minus smaller, no *1 or /1, exact / only."""
    if a[0] < b[0]:
        a, b = b, a
    out = [(f"{a[0]} + {b[0]}", (a[0] + b[0], f"{a[1]} + {b[1]}", 1))]
    if a[0] > b[0]:
        out.append((f"{a[0]} - {b[0]}", (a[0] - b[0], f"{a[1]} - {wrap(b, 1)}", 1)))
    if b[0] > 1:
        out.append((f"{a[0]} * {b[0]}", (a[0] * b[0], f"{wrap(a, 1)} * {wrap(b, 1)}", 2)))
        if a[0] % b[0] == 0:
            out.append((f"{a[0]} / {b[0]}", (a[0] // b[0], f"{wrap(a, 1)} / {wrap(b, 2)}", 2)))
    return out


def search(numbers: list[int], target: int) -> tuple[list[str] | None, list[str], str] | None:
    """Depth-first search, trying results closest to the target first.
    Returns (first dead-end path or None, solution path, expression), or None if not found."""
    seen, dead, nodes = set(), [], 0

    def dfs(items: list[Item], path: list[str]):
        nonlocal nodes
        nodes += 1
        key = tuple(sorted(i[0] for i in items))
        if nodes > BUDGET or key in seen:
            return None
        seen.add(key)
        if path and items[-1][0] == target:  # the number just made
            return path, items[-1][1]
        if len(items) == 1:
            dead.append(path)
            return None
        options = []
        for i in range(len(items)):
            for j in range(i + 1, len(items)):
                rest = items[:i] + items[i + 1:j] + items[j + 1:]
                options += [(abs(new[0] - target), step, new, rest) for step, new in moves(items[i], items[j])]
        for _, step, new, rest in sorted(options, key=lambda o: o[0]):
            found = dfs(rest + [new], path + [f"{step} = {new[0]}"])
            if found:
                return found
        return None

    found = dfs([(n, str(n), 3) for n in numbers], [])
    return None if found is None else (dead[0] if dead else None, found[0], found[1])


def tries(numbers: list[int], target: int) -> tuple[list[str], list[str], str] | None:
    """Two numbers: every move in order (+ - * /) up to the one that makes the target.
    Returns (the moves that missed, the one that hit, expression), or None."""
    a, b = ((n, str(n), 3) for n in numbers)
    missed = []
    for step, new in moves(a, b):
        if new[0] == target:
            return missed, [f"{step} = {target}"], new[1]
        missed.append(f"{step} = {new[0]}")
    return None


def make(seed: int, index: int, difficulty: int, lang: str) -> Problem | None:
    count, largest, low, high = LEVELS[difficulty - 1]
    meta = rg_item("countdown", stream_seed("countdown", seed, difficulty), index, min_numbers=count,
                   max_numbers=count, max_value=largest, min_target=low, max_target=high)["metadata"]
    numbers, target = [int(n) for n in meta["numbers"]], int(meta["target"])
    result = tries(numbers, target) if count == 2 else search(numbers, target)
    if result is None:
        return None
    dead, path, expression = result
    t, shown = TEXT[lang], ", ".join(map(str, numbers))
    steps = [t["goal"].format(target=target, numbers=shown)]
    if count == 2:
        steps += [f"{move} ✗" for move in dead]
    elif dead:
        steps.append(t["dead"].format(path=SEP[lang].join(dead)))
    steps.append(t["found"].format(path=SEP[lang].join(path)))
    fields = {"numbers": numbers, "numbers_text": shown, "target": target}  # numbers_text: for questions
    return build("countdown", lang, difficulty, t["ask"].format(**fields), expression, steps,
                 f"{sorted(numbers)}->{target}", **fields)


def check(problem: Problem, answer: str) -> bool:
    """The expression uses only + - * / and parentheses on the allowed numbers, each at most
    once, and equals the target exactly. Parsed with ast; a trailing '= target' is allowed."""
    text = answer.replace("×", "*").replace("÷", "/").strip()
    left, _, right = text.partition("=")
    if right and right.strip() != str(problem.metadata["target"]):
        return False
    try:
        tree = ast.parse(left.strip(), mode="eval").body
    except SyntaxError:
        return False
    used = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and type(node.value) is int:
            used.append(node.value)
        elif not isinstance(node, (ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div)):
            return False
    if Counter(used) - Counter(problem.metadata["numbers"]):
        return False
    try:
        return evaluate(tree) == problem.metadata["target"]
    except ValueError:
        return False


FAMILIES = [Family("countdown", make, check)]
