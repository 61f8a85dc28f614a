import dataclasses
import re

import pytest

from nanoseek.data.rewards import CJK, SPANISH_LETTERS, language_units
from nanoseek.data.tasks import FAMILIES, LANGUAGES, generate, verify
from nanoseek.data.tasks.common import BOXED, with_boxed
from nanoseek.data.tasks.composed_phrasings import COMPOSED, STORIES
from nanoseek.data.tasks.phrasings import (STYLES, TEMPLATES, TRAIN_COMPOSED, phrase, template_groups, templates,
                                           wording)

FIELD = re.compile(r"\{[a-z_]+\}")
# the fields every template of a set must show, or the question could not be answered
NEEDED = {"addition": {"a", "b"}, "subtraction": {"a", "b"}, "multiplication": {"a", "b"},
          "linear_equation": {"equation"}, "countdown": {"numbers_text", "target"}, "logic": {"claims"},
          "calendar/later": {"day", "n"}, "calendar/ago": {"day", "n"}, "calendar/first": {"day", "date"},
          "code_output": {"code"}}


def flat(group) -> list[str]:
    """The sentences of a group of frames."""
    return [t for frame in group for t in frame]


def every_template(lang: str, style: str) -> list[str]:
    """Hand-written and, for training, composed templates of every family."""
    composed = [t for by_lang in TRAIN_COMPOSED.values() for group in by_lang[lang] for t in flat(group)]
    return [t for by_lang in TEMPLATES.values() for t in by_lang[lang][style]] + composed * (style == "train")


def template_of(problem, style: str) -> int | None:
    """Position of the template (of `style`) that worded the problem's question, with or
    without the \\boxed{} instruction; None if no template of that style did."""
    for i, t in enumerate(templates(problem, style)):
        bare = t.format(**problem.metadata)
        if problem.question in (bare, with_boxed(bare, problem.lang)):
            return i
    return None


def test_every_family_and_language_has_12_train_and_4_heldout_phrasings():
    assert set(TEMPLATES) == set(NEEDED)
    for by_lang in TEMPLATES.values():
        assert tuple(by_lang) == LANGUAGES
        for by_style in by_lang.values():
            assert tuple(by_style) == STYLES
            assert len(set(by_style["train"])) == len(by_style["train"]) >= 12
            assert len(set(by_style["heldout"])) == len(by_style["heldout"]) >= 4


def test_train_and_heldout_phrasings_are_disjoint():
    for lang in LANGUAGES:
        assert not set(every_template(lang, "train")) & set(every_template(lang, "heldout"))


def test_no_train_phrasing_is_a_heldout_one_reworded_by_case_punctuation_or_a_contraction():
    assert wording("What's the sum of {a} and {b}?") == wording("what is the sum of {a} and {b}") != wording(
        "What is the total of {a} and {b}?")
    for lang in LANGUAGES:
        heldout = {wording(t) for t in every_template(lang, "heldout")}
        assert not [t for t in every_template(lang, "train") if wording(t) in heldout]


def test_a_bare_question_that_words_a_heldout_one_is_dropped_in_every_language():
    dropped = {lang: [t for (t,) in COMPOSED["addition"][lang][0] if (t,) not in TRAIN_COMPOSED["addition"][lang][0]]
               for lang in LANGUAGES}
    assert dropped == {"en": ["What is the sum of {a} and {b}?"], "es": ["¿Cuánto es la suma de {a} y {b}?"],
                       "zh": ["{a} 与 {b} 的和 是多少？"]}
    assert all(TRAIN_COMPOSED[f][lang] == COMPOSED[f][lang] for f in ("subtraction", "multiplication")
               for lang in LANGUAGES)


def test_composed_phrasings_keep_clear_of_the_heldout_stories_subjects():
    subjects = ("student", "hiker", "altitude", "bus", "passenger", "ticket", "alumno", "excursionista",
                "altitud", "autobus", "pasajero", "entrada", "学生", "登山", "海拔", "大巴", "乘客", "张票")
    for by_lang in COMPOSED.values():
        for groups in by_lang.values():
            assert not [t for group in groups for t in flat(group) if any(s in t.lower() for s in subjects)]


def test_templates_are_bare_questions_that_show_what_the_answer_needs():
    for name, by_lang in TEMPLATES.items():
        for lang, by_style in by_lang.items():
            composed = [t for group in COMPOSED.get(name, {}).get(lang, ()) for t in flat(group)]
            for t in by_style["train"] + by_style["heldout"] + tuple(composed):
                assert "boxed" not in t and t == t.strip()
                assert NEEDED[name] <= {f[1:-1] for f in FIELD.findall(t)}, t


def test_composed_phrasings_line_up_across_languages_and_keep_only_the_numbers_open():
    assert set(COMPOSED) == set(STORIES) == {"addition", "subtraction", "multiplication"}
    for by_lang in COMPOSED.values():
        bare, stories = by_lang["en"]
        assert len(bare) == 80 and all(len(frame) == 1 for frame in bare) and len(stories) >= 13
        for lang in LANGUAGES:
            assert [[len(frame) for frame in group] for group in by_lang[lang]] == [
                [len(frame) for frame in group] for group in (bare, stories)]
            for group in by_lang[lang]:
                assert len(set(flat(group))) == len(flat(group))
                assert all({f[1:-1] for f in FIELD.findall(t)} == {"a", "b"} for t in flat(group)), group


def test_word_problems_agree_in_spanish_and_count_with_measure_words_in_chinese():
    stories = {lang: flat(groups[1]) for lang, groups in COMPOSED["addition"].items()}
    assert "Sara has {a} stamps and gets {b} more. How many stamps does Sara have now?" in stories["en"]
    assert "Marta tiene {a} sellos y consigue {b} más. ¿Cuántos sellos tiene ahora?" in stories["es"]
    assert "Marta tiene {a} manzanas y consigue {b} más. ¿Cuántas manzanas tiene ahora?" in stories["es"]
    assert "小华有 {a} 张邮票，又得到了 {b} 张。小华现在有多少张邮票？" in stories["zh"]


def test_templates_are_written_in_their_language():
    for style in STYLES:
        for t in every_template("zh", style):
            assert CJK.search(FIELD.sub("", t)), t
        for t in every_template("es", style):
            units = language_units(FIELD.sub(" ", t))
            assert units["es"] > units["en"] and units["zh"] == 0, t
        for t in every_template("en", style):
            text = FIELD.sub(" ", t)
            assert not CJK.search(text) and not SPANISH_LETTERS & set(text.lower()), t


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("family", FAMILIES)
def test_every_template_formats_for_generated_problems(family, lang):
    kinds = set()
    for difficulty in (1, 2, 3):
        for p in generate(family, 8, seed=2, lang=lang, difficulty=difficulty):
            kinds.add(p.metadata.get("kind"))
            for style in STYLES:
                for t in templates(p, style):
                    assert not FIELD.search(t.format(**p.metadata))
    assert kinds == ({"later", "ago", "first"} if family == "calendar" else {None})


@pytest.mark.parametrize("family", FAMILIES)
def test_generate_words_questions_only_with_templates_of_the_asked_style(family):
    for lang in LANGUAGES:
        for style, other in (("train", "heldout"), ("heldout", "train")):
            for p in generate(family, 20, seed=4, lang=lang, difficulty=3, phrasing=style):
                assert template_of(p, style) is not None, p.question
                assert template_of(p, other) is None, p.question


@pytest.mark.parametrize("family", FAMILIES)
def test_phrasing_changes_the_question_only(family):
    train = generate(family, 20, seed=7, lang="es", difficulty=2)
    heldout = generate(family, 20, seed=7, lang="es", difficulty=2, phrasing="heldout")
    assert ([dataclasses.replace(p, question="") for p in train]
            == [dataclasses.replace(p, question="") for p in heldout])
    assert [p.metadata for p in train] == [p.metadata for p in heldout]
    assert all(verify(p, p.answer) for p in heldout)
    assert not {p.question for p in train} & {p.question for p in heldout}


def test_phrasings_are_deterministic_and_all_in_use():
    a = generate("countdown", 200, seed=0)
    assert [p.question for p in a] == [p.question for p in generate("countdown", 200, seed=0)]
    assert [p.question for p in a] != [p.question for p in generate("countdown", 200, seed=1)]
    assert {template_of(p, "train") for p in a} == set(range(len(templates(a[0], "train"))))
    assert phrase(a[0], "heldout", "k") == phrase(a[0], "heldout", "k")


def test_arithmetic_questions_are_hand_written_bare_and_word_problems_in_about_equal_shares():
    problems = generate("subtraction", 300, seed=0, lang="es")
    hand, bare, stories = (len(flat(group)) for group in template_groups(problems[0], "train"))
    slots = [template_of(p, "train") for p in problems]
    assert {s for s in slots if s < hand} == set(range(hand))
    shares = [sum(lo <= s < hi for s in slots) / len(slots)
              for lo, hi in ((0, hand), (hand, hand + bare), (hand + bare, hand + bare + stories))]
    assert all(0.25 <= share <= 0.42 for share in shares), shares


def test_word_problems_are_drawn_by_story_not_by_filling():
    """A story that names no person or thing (one sentence) is asked as often as one with 96
    fillings: of 900 problems about 300 are word problems, about 21 per story."""
    problems = generate("subtraction", 900, seed=0, lang="en")
    stories = template_groups(problems[0], "train")[2]
    counts = [sum(p.question.startswith(t.format(**p.metadata)) for p in problems for t in frame)
              for frame in stories]
    assert len(counts) == 14 and min(counts) >= 10 and sum(counts) <= 360, counts


@pytest.mark.parametrize("family", ["countdown", "multiplication"])
def test_a_problem_keeps_its_template_slot_across_languages(family):
    slots = {lang: [template_of(p, "train") for p in generate(family, 20, seed=3, lang=lang)]
             for lang in LANGUAGES}
    assert slots["en"] == slots["es"] == slots["zh"]


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_about_half_of_the_questions_ask_for_boxed(lang, style):
    problems = generate("multiplication", 200, seed=0, lang=lang, phrasing=style)
    asked = [p.question.endswith(BOXED[lang]) for p in problems]
    assert 0.3 <= sum(asked) / len(asked) <= 0.7
    assert all(asked_for or "boxed" not in p.question for p, asked_for in zip(problems, asked))


def test_bad_phrasing_is_named():
    with pytest.raises(ValueError, match=r"phrasing must be one of \('train', 'heldout'\), got 'eval'"):
        generate("addition", 1, seed=0, phrasing="eval")
