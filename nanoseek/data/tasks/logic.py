"""Knights and knaves: knights always tell the truth, knaves always lie; who is which?
reasoning-gym draws puzzles with exactly one solution as statement trees; we render them
in each language and write the deduction: assign roles in order (knight first), check each
claim as soon as it is decidable, back up at the first contradiction."""

import re

from nanoseek.data.tasks.common import COLON, SEP, Family, Problem, build, rg_item, stream_seed

LEVELS = [(2, 2), (3, 2), (4, 2), (4, 3), (5, 3)]  # (people, statement depth) per difficulty
ZH_NAMES = ["甲", "乙", "丙", "丁", "戊"]  # how Chinese puzzles name people

TEXT = {
    "en": {
        "ask": "On an island, knights always tell the truth and knaves always lie. {claims} "
               "Who is a knight and who is a knave? Answer in the form \"{form}\".",
        "says": "{name} says: \"{claim}\".", "knight": "knight", "knave": "knave",
        "is": "{name} is a {role}", "not": "it is not true that {x}", "and": " and ", "or": " or ",
        "if": "if {a} then {b}", "iff": "{a} if and only if {b}", 
        "cases": "Assign roles in order, knight first, and check each claim:",
        "claim": "{name}'s claim is {value} {mark}",
        "true": "true", "false": "false",
    },
    "es": {
        "ask": "En una isla, los caballeros siempre dicen la verdad y los bribones siempre mienten. "
               "{claims} ¿Quién es caballero y quién es bribón? Responde con la forma «{form}».",
        "says": "{name} dice: «{claim}».", "knight": "caballero", "knave": "bribón",
        "is": "{name} es {role}", "not": "no es cierto que {x}", "and": " y ", "or": " o ",
        "if": "si {a}, entonces {b}", "iff": "{a} si y solo si {b}", 
        "cases": "Asigno papeles en orden, caballero primero, y compruebo cada afirmación:",
        "claim": "lo de {name} es {value} {mark}",
        "true": "verdad", "false": "falso",
    },
    "zh": {
        "ask": "岛上的骑士总说真话，骗子总说假话。{claims}谁是骑士，谁是骗子？请按“{form}”的格式回答。",
        "says": "{name}说：“{claim}”。", "knight": "骑士", "knave": "骗子",
        "is": "{name}是{role}", "not": "并非{x}", "and": "并且", "or": "或者",
        "if": "如果{a}，那么{b}", "iff": "{a}当且仅当{b}", 
        "cases": "按顺序假设身份（先设为骑士），逐一检查每句话：", "claim": "{name}的话为{value} {mark}",
        "true": "真", "false": "假",
    },
}
ROLE_WORDS = {True: ("knight", "caballero", "骑士"), False: ("knave", "bribón", "bribon", "骗子")}


def plain(statement) -> tuple:
    """reasoning-gym's statement tree with numpy ints turned into ints."""
    return tuple(plain(s) if isinstance(s, tuple) else s if isinstance(s, str) else int(s) for s in statement)


def holds(s: tuple, roles: tuple[bool, ...]) -> bool:
    """Truth of a statement when roles[i] says whether person i is a knight."""
    op, args = s[0], s[1:]
    if op in ("telling-truth", "lying"):
        return roles[args[0]] == (op == "telling-truth")
    values = [holds(a, roles) for a in args]
    return {"not": lambda: not values[0], "and": lambda: all(values), "or": lambda: any(values),
            "->": lambda: not values[0] or values[1], "<=>": lambda: values[0] == values[1]}[op]()


def render(s: tuple, names: list[str], t: dict) -> str:
    op, args = s[0], s[1:]
    if op in ("telling-truth", "lying"):
        return t["is"].format(name=names[args[0]], role=t["knight" if op == "telling-truth" else "knave"])
    if op == "not" and args[0][0] in ("telling-truth", "lying"):  # "not a knight" is "a knave"
        flipped = "lying" if args[0][0] == "telling-truth" else "telling-truth"
        return render((flipped, args[0][1]), names, t)
    parts = [render(a, names, t) for a in args]
    parts = [p if a[0] in ("telling-truth", "lying") else f"({p})" for p, a in zip(parts, args)]
    if op == "not":
        return t["not"].format(x=parts[0])
    if op in ("and", "or"):
        return t[op].join(parts)
    return t["if" if op == "->" else "iff"].format(a=parts[0], b=parts[1])


def roles_text(names: list[str], roles, t: dict, between: str) -> str:
    return t["sep"].join(f"{n}{between}{t['knight' if r else 'knave']}" for n, r in zip(names, roles))


def mentions(s: tuple) -> set[int]:
    if s[0] in ("telling-truth", "lying"):
        return {s[1]}
    return set().union(*(mentions(a) for a in s[1:]))


def deduce(statements: list[tuple], names: list[str], t: dict) -> tuple[list[str], tuple[bool, ...]]:
    """Backtracking deduction: assign people in order, knight first; as soon as everyone a
    claim mentions (speaker included) has a role, check that the claim's truth matches its
    speaker's role; back up at the first mismatch. Returns (one line per assignment with
    the checks it settles, the roles found)."""
    last = [max(mentions(s) | {i}) for i, s in enumerate(statements)]
    steps = []

    def extend(roles: tuple[bool, ...]) -> tuple[bool, ...] | None:
        checks, ok = [], True
        for i, s in enumerate(statements):
            if last[i] == len(roles) - 1:  # decidable only now
                value = holds(s, roles)
                ok = value == roles[i]
                checks.append(t["claim"].format(name=names[i], value=t["true" if value else "false"],
                                                mark="✓" if ok else "✗"))
                if not ok:
                    break
        if roles:  # name only the newest assignment: the ones above it still stand
            line = roles_text(names[len(roles) - 1:], roles[-1:], t, "=")
            steps.append(line + (t["colon"] + t["sep"].join(checks) if checks else ""))
        if not ok or len(roles) == len(statements):
            return roles if ok else None
        return extend(roles + (True,)) or extend(roles + (False,))

    found = extend(())
    return steps, found


def make(seed: int, index: int, difficulty: int, lang: str) -> Problem:
    people, depth = LEVELS[difficulty - 1]
    meta = rg_item("knights_knaves", stream_seed("logic", seed, difficulty), index, n_people=people,
                   depth_constraint=depth, width_constraint=2)["metadata"]
    statements, solution = plain(meta["statements"]), tuple(bool(r) for r in meta["solution"])
    names = ZH_NAMES[:people] if lang == "zh" else [str(n) for n in meta["names"]]
    t = {**TEXT[lang], "sep": SEP[lang], "colon": COLON[lang]}
    claims = ("" if lang == "zh" else " ").join(
        t["says"].format(name=n, claim=render(s, names, t)) for n, s in zip(names, statements))
    form = t["sep"].join(f"{n}{t['colon']}{t['knight']}/{t['knave']}" for n in names)
    steps, found = deduce(statements, names, t)
    fields = {"claims": claims, "form": form, "people": people}  # what the question templates fill in
    return build("logic", lang, difficulty, t["ask"].format(**fields), roles_text(names, found, t, t["colon"]),
                 [t["cases"], *steps], repr(statements), names=names, solution=solution, **fields)


def check(problem: Problem, answer: str) -> bool:
    """Every person is named, and the text after each name (up to the next name) holds a
    role word of exactly one kind (in any of our languages) matching the solution."""
    names = problem.metadata["names"]
    pattern = "|".join(f"(?<![A-Za-z]){re.escape(n)}(?![A-Za-z])" for n in names)
    found = {}
    marks = list(re.finditer(pattern, answer))
    for mark, end in zip(marks, [m.start() for m in marks[1:]] + [len(answer)]):
        segment = answer[mark.end():end].lower()
        kinds = {role for role, words in ROLE_WORDS.items() if any(w in segment for w in words)}
        found.setdefault(mark.group(), set()).update(kinds)
    return all(found.get(n) == {r} for n, r in zip(names, problem.metadata["solution"]))


FAMILIES = [Family("logic", make, check)]
