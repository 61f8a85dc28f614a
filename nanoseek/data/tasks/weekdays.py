"""The calendar family: the weekday some days before/after a given weekday, and the
weekday of a date when January 1's weekday is known (reasoning-gym's calendar_arithmetic,
non-leap 2022). The trace counts days month by month, reduces modulo 7, then steps through
the weekdays. (Not named calendar.py: that would shadow the standard library module.)"""

import unicodedata
from datetime import date

from nanoseek.data.tasks.common import SEP, Family, Problem, build, rg_item, stream_seed

# (tasks, largest offset in days) per difficulty
OFFSET, FIRST = "weekday_offset", "weekday_of_date_from_first_date"
LEVELS = [((OFFSET,), 10), ((OFFSET,), 30), ((OFFSET, FIRST), 60), ((OFFSET, FIRST), 150), ((OFFSET, FIRST), 364)]
MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

WEEKDAYS = {
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "es": ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"],
    "zh": ["星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"],
}
MONTHS = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"],
    "es": ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
           "octubre", "noviembre", "diciembre"],
    "zh": [f"{m}月" for m in range(1, 13)],
}
TEXT = {
    "en": {"later": "Today is {day}. What day of the week will it be in {n} days?",
           "ago": "Today is {day}. What day of the week was it {n} days ago?",
           "first": "In a year that is not a leap year, January 1 is a {day}. What day of the week is {date}?",
           "date": "{month} {d}", "count": "Days from January 1 to {date}: {sum} = {n}",
           "forward": "{n} = {q} × 7 + {r}, so {r} days forward", "back": "{n} = {q} × 7 + {r}, so {r} days back",
           "step": "{day} {sign} {r}: {path}"},
    "es": {"later": "Hoy es {day}. ¿Qué día de la semana será dentro de {n} días?",
           "ago": "Hoy es {day}. ¿Qué día de la semana fue hace {n} días?",
           "first": "En un año no bisiesto, el 1 de enero es {day}. ¿Qué día de la semana es el {date}?",
           "date": "{d} de {month}", "count": "Días del 1 de enero al {date}: {sum} = {n}",
           "forward": "{n} = {q} × 7 + {r}, así que avanzo {r} días",
           "back": "{n} = {q} × 7 + {r}, así que retrocedo {r} días",
           "step": "{day} {sign} {r}: {path}"},
    "zh": {"later": "今天是{day}。{n}天后是星期几？",
           "ago": "今天是{day}。{n}天前是星期几？",
           "first": "在一个非闰年里，1月1日是{day}。{date}是星期几？",
           "date": "{month}{d}日", "count": "从1月1日到{date}的天数：{sum} = {n}",
           "forward": "{n} = {q} × 7 + {r}，所以往后数{r}天", "back": "{n} = {q} × 7 + {r}，所以往前数{r}天",
           "step": "{day} {sign} {r}：{path}"},
}
ALIASES = {"星期天": 6, "周日": 6, "周天": 6, **{f"周{c}": i for i, c in enumerate("一二三四五六")}}


def fold(text: str) -> str:
    """Lowercase without accents, so 'Miercoles' matches 'miércoles'."""
    return "".join(c for c in unicodedata.normalize("NFD", text.lower()) if unicodedata.category(c) != "Mn")


NAME_TO_DAY = {fold(name): i for names in WEEKDAYS.values() for i, name in enumerate(names)} | ALIASES


def day_count(target: date) -> tuple[str, int]:
    """'31 + 28 + (5 - 1)': the whole months before target, then its own days past the 1st."""
    months = [str(MONTH_DAYS[m]) for m in range(target.month - 1)]
    rest = f"({target.day} - 1)" if months else f"{target.day} - 1"
    return " + ".join([*months, rest]), (target - date(target.year, 1, 1)).days


def walk(start: int, n: int, t: dict, lang: str) -> list[str]:
    """Reduce n days modulo 7 and count the remaining weekdays one by one."""
    q, r = divmod(abs(n), 7)
    sign = 1 if n >= 0 else -1
    names = WEEKDAYS[lang]
    path = SEP[lang].join(names[(start + sign * k) % 7] for k in range(1, r + 1)) or names[start]
    return [t["forward" if n >= 0 else "back"].format(n=abs(n), q=q, r=r),
            t["step"].format(day=names[start], sign="+" if n >= 0 else "-", r=r, path=path)]


def make(seed: int, index: int, difficulty: int, lang: str) -> Problem:
    tasks, bound = LEVELS[difficulty - 1]
    meta = rg_item("calendar_arithmetic", stream_seed("calendar", seed, difficulty), index,
                   tasks=tasks, offset_upper_bound=bound)["metadata"]
    t, names = TEXT[lang], WEEKDAYS[lang]
    if meta["task"] == OFFSET:
        start, n = date.fromisoformat(meta["start_date"]).weekday(), int(meta["offset_days"])
        fields = {"kind": "later" if n >= 0 else "ago", "day": names[start], "n": abs(n)}
        steps, canonical = walk(start, n, t, lang), f"offset:{start}:{n}"
    else:
        start, target = WEEKDAYS["en"].index(meta["first_day"]), date.fromisoformat(meta["target_date"])
        when = t["date"].format(month=MONTHS[lang][target.month - 1], d=target.day)
        fields = {"kind": "first", "day": names[start], "date": when}
        total, n = day_count(target)
        steps = [t["count"].format(date=when, sum=total, n=n), *walk(start, n, t, lang)]
        canonical = f"first:{start}:{target.month}-{target.day}"
    answer = names[(start + n) % 7]
    # kind (later, ago, first) names the question's template in TEXT and in phrasings.py
    return build("calendar", lang, difficulty, t[fields["kind"]].format(**fields), answer, steps, canonical,
                 **fields)


def check(problem: Problem, answer: str) -> bool:
    """The answer names the right weekday, in any of our languages."""
    return NAME_TO_DAY.get(fold(answer.strip().strip(".。!")).strip()) == NAME_TO_DAY[fold(problem.answer)]


FAMILIES = [Family("calendar", make, check)]
