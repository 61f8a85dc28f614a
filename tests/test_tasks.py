import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nanoseek.data.sandbox import run_python
from nanoseek.data.tasks import FAMILIES, LANGUAGES, generate, levels, verify
from nanoseek.data.tasks.common import ANSWER_LINE, BOXED, split_of

REQUIRED = {"addition", "subtraction", "multiplication", "countdown", "linear_equation", "logic",
            "calendar", "code_output"}
NUMERIC = ["addition", "subtraction", "multiplication", "linear_equation", "code_output"]


def test_required_families_exist():
    assert REQUIRED <= set(FAMILIES)
    assert LANGUAGES == ("en", "es", "zh")


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("family", FAMILIES)
def test_answers_verify_and_traces_end_in_them(family, lang):
    asked = []
    for difficulty in (1, 2, 3):
        for p in generate(family, 4, seed=3, lang=lang, difficulty=difficulty):
            assert (p.family, p.lang, p.difficulty) == (family, lang, difficulty)
            asked.append(p.question.endswith(BOXED[lang]))
            assert asked[-1] or "\\boxed" not in p.question  # the instruction ends a question, or is absent
            assert verify(p, p.answer)
            last = p.trace.splitlines()[-1]
            assert last == ANSWER_LINE[lang].format(p.answer)
            assert verify(p, last.split(ANSWER_LINE[lang].format(""))[-1])
            if difficulty == 1:
                assert len(p.trace) < 400, p.trace
    assert any(asked) and not all(asked)  # some questions ask for \boxed{}, not all


@pytest.mark.parametrize("family", FAMILIES)
def test_difficulty_makes_problems_bigger(family):
    def size(d):
        problems = generate(family, 20, seed=0, difficulty=d)
        return sum(len(p.trace) for p in problems) / len(problems)

    assert levels(family) == 5
    assert size(1) < size(3) < size(5)


@pytest.mark.parametrize("family", FAMILIES)
def test_deterministic_by_seed_and_translated_across_languages(family):
    a = generate(family, 10, seed=11, difficulty=2)
    assert a == generate(family, 10, seed=11, difficulty=2)
    assert [p.canonical for p in a] != [p.canonical for p in generate(family, 10, seed=12, difficulty=2)]
    for lang in ("es", "zh"):
        assert [p.canonical for p in generate(family, 10, seed=11, difficulty=2, lang=lang)] == [p.canonical for p in a]


@pytest.mark.parametrize("family", FAMILIES)
def test_train_and_eval_are_disjoint(family):
    train = generate(family, 300, seed=5, split="train", difficulty=3)
    held = generate(family, 30, seed=5, split="eval", difficulty=3)
    assert {split_of(p.canonical) for p in train} == {"train"}
    assert {split_of(p.canonical) for p in held} == {"eval"}
    assert not {p.canonical for p in train} & {p.canonical for p in held}


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="family"):
        generate("poetry", 1, seed=0)
    with pytest.raises(ValueError, match="difficulty"):
        generate("addition", 1, seed=0, difficulty=9)
    with pytest.raises(ValueError, match="lang"):
        generate("addition", 1, seed=0, lang="fr")


@settings(max_examples=40, deadline=None)
@given(family=st.sampled_from(NUMERIC), seed=st.integers(0, 10**6), difficulty=st.integers(1, 5),
       delta=st.sampled_from([-1, 1, 10, -100]))
def test_numeric_answers_tolerate_format_and_reject_other_numbers(family, seed, difficulty, delta):
    p = generate(family, 1, seed=seed, difficulty=difficulty)[0]
    value = int(p.answer)
    assert verify(p, f" {value:,} ") and verify(p, f"x = {value}") and verify(p, f"{value}.")
    if value >= 0:
        assert verify(p, f"+{value}")
    assert not verify(p, str(value + delta))
    assert not verify(p, "") and not verify(p, "seven")


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10**6), difficulty=st.integers(1, 5))
def test_countdown_checks_numbers_and_value(seed, difficulty):
    p = generate("countdown", 1, seed=seed, difficulty=difficulty)[0]
    numbers, target = p.metadata["numbers"], p.metadata["target"]
    assert verify(p, p.answer) and verify(p, f"{p.answer} = {target}")
    assert not verify(p, f"{p.answer} = {target + 1}")
    assert not verify(p, f"({p.answer}) + 1")  # a number that was not given
    assert not verify(p, f"({p.answer}) * {numbers[0]} / {numbers[0]}") or numbers.count(numbers[0]) > 1
    assert verify(p, str(target)) == (target in numbers)


def test_countdown_rejects_unsafe_or_foreign_syntax():
    p = generate("countdown", 1, seed=0)[0]
    for bad in ["__import__('os').system('true')", "2 ** 5", "[1, 2]", "-3 + 5", "1.5 * 2", "", "((("]:
        assert not verify(p, bad)


def test_equation_accepts_variable_form():
    p = generate("linear_equation", 1, seed=0)[0]
    assert verify(p, f"{p.metadata['variable']} = {p.answer}")


def test_logic_accepts_any_language_and_rejects_a_swap():
    p = generate("logic", 1, seed=0, difficulty=2)[0]
    names, solution = p.metadata["names"], p.metadata["solution"]
    role = {True: "caballero", False: "bribón"}
    assert verify(p, ", ".join(f"{n} es {role[r]}" for n, r in zip(names, solution)))
    assert not verify(p, ", ".join(f"{n}: {role[not r] if i == 0 else role[r]}"
                                   for i, (n, r) in enumerate(zip(names, solution))))
    assert not verify(p, f"{names[0]}: {role[solution[0]]}")  # someone left out


def test_calendar_accepts_any_language():
    p = generate("calendar", 1, seed=0, lang="es")[0]
    day = ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"].index(p.answer)
    en = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    assert verify(p, en[day].upper()) and verify(p, f"星期{'一二三四五六日'[day]}")
    assert not verify(p, en[(day + 1) % 7])


def test_code_output_answers_match_the_sandbox():
    for difficulty in range(1, 6):
        for p in generate("code_output", 2, seed=9, difficulty=difficulty):
            result = run_python(p.metadata["code"])
            assert result.status == "ok"
            assert result.stdout.strip() == p.answer
