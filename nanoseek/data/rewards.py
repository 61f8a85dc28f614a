"""Rule rewards for GRPO, as in DeepSeek-R1: accuracy (the verified final answer), format
(reasoning in <think> tags, then an answer with \\boxed{}), and language consistency (the
reasoning stays in the question's language); and, off by default, partial credit for a
nearly right answer (digits right). Pure functions of text; no model involved.
A completion is what the model wrote after `<｜Assistant｜>`, e.g.
`<think>\\n3 + 4 = 7\\n</think>\\n\\nThe answer is \\boxed{7}.`
"""

import re
from dataclasses import dataclass

from nanoseek.data.tasks import Problem, verify
from nanoseek.tokenizer import extract_boxed, split_reasoning

THINK, END_THINK = "<think>", "</think>"
INTEGER = re.compile(r"-?\d+")


def accuracy_reward(completion: str, problem: Problem) -> float:
    """1.0 if the last \\boxed{} after </think> verifies against the problem, else 0.0.
    A boxed answer inside the reasoning does not count: the model must finish thinking."""
    boxed = extract_boxed(split_reasoning(completion)[1])
    return float(boxed is not None and verify(problem, boxed))


def digit_match(answer: str, target: str) -> float:
    """Share of the digit positions of an integer answer that equal the target's, aligned from
    the units digit (a wrong carry costs one digit, a dropped digit shifts nothing), over the
    longer of the two; 0.0 when either is not an integer or the signs differ."""
    answer, target = answer.strip(), target.strip()
    if not (INTEGER.fullmatch(answer) and INTEGER.fullmatch(target)):
        return 0.0
    if answer.startswith("-") != target.startswith("-"):
        return 0.0
    answer, target = answer.lstrip("-"), target.lstrip("-")
    right = sum(a == t for a, t in zip(reversed(answer), reversed(target)))
    return right / max(len(answer), len(target))


def partial_credit(completion: str, problem: Problem) -> float:
    """Credit in [0, 1] for a final answer (the last \\boxed{} after </think>) that is close:
    1.0 when it verifies, else its digit_match against an integer target (0.0 for the other
    answers: a wrong weekday or expression is not partly right). Shaping for a model whose
    accuracy is mostly 0: a group that is all wrong still ranks its samples."""
    boxed = extract_boxed(split_reasoning(completion)[1])
    if boxed is None:
        return 0.0
    return 1.0 if verify(problem, boxed) else digit_match(boxed, problem.answer)


def format_reward(completion: str, *, think_prefilled: bool = False) -> float:
    """1.0 iff the completion is `<think>` reasoning `</think>` answer, with exactly one of
    each tag, non-empty reasoning, and a non-empty \\boxed{...} in the answer; else 0.0.
    With think_prefilled the prompt already ended in `<think>`, so the completion starts
    inside the reasoning and must not open the tag again."""
    text = completion if think_prefilled else completion.lstrip()
    if not think_prefilled:
        if not text.startswith(THINK):
            return 0.0
        text = text[len(THINK):]
    if THINK in text or text.count(END_THINK) != 1:
        return 0.0
    reasoning, answer = text.split(END_THINK)
    boxed = extract_boxed(answer)
    return float(bool(reasoning.strip()) and bool(boxed and boxed.strip()))


# ---------------------------------------------------------------------------------------
# language consistency

# Frequent words that tell English from Spanish. A word in both lists counts for neither.
EN_WORDS = set("""the a an and or but if then so of to in on at by for from with as is are was were be been
it its this that these those what which who we you he she they not do does did has have had will would
can each one two three first next now add answer digit digits step sum carry write try case claim claims
true false day days knight knave says column right left only all back up dead end move divide run line
forward reach""".split())
ES_WORDS = set("""el la los las un una unos unas y o pero si entonces así de del al en por para con desde que
es son era fue ser lo este esta esto cada uno dos tres primero luego ahora sumo respuesta cifra cifras paso
suma llevo escribo caso verdad falso días columna derecha izquierda solo todos pruebo como me mi se su
sus asigno compruebo afirmación sin salida retrocedo avanzo divido ejecuto línea""".split())
EN_WORDS, ES_WORDS = EN_WORDS - ES_WORDS, ES_WORDS - EN_WORDS
SPANISH_LETTERS = set("áéíóúñü")
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
LATIN_WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ]{2,}")


def language_units(text: str, ignore: str = "") -> dict[str, int]:
    """Count the units of text by language, the rule language_reward documents."""
    skip = {w.lower() for w in LATIN_WORD.findall(ignore)}
    counts = {"zh": len(CJK.findall(text)), "en": 0, "es": 0, "other": 0}
    for word in (w.lower() for w in LATIN_WORD.findall(text)):
        if word in ES_WORDS or SPANISH_LETTERS & set(word):
            counts["es"] += 1
        elif word in EN_WORDS:
            counts["en"] += 1
        elif word not in skip:
            counts["other"] += 1
    return counts


def language_reward(completion: str, lang: str, *, ignore: str = "") -> float:
    """Share in [0, 1] of the reasoning (the text before </think>) written in `lang`.

    Units: every CJK character is one zh unit. Every Latin word of two or more letters is
    es if it has a Spanish letter (áéíóúñü) or is a frequent Spanish word, en if it is a
    frequent English word, else unclassified (names, identifiers, rare words). Numbers,
    symbols and one-letter words (variables) are neutral.
    - lang "en" or "es": share = target units / (zh + en + es units);
      unclassified words are neutral, since they could be in either language.
    - lang "zh": share = zh units / (zh + en + es + unclassified units); Latin words that
      also appear in `ignore` (pass the question: names, code identifiers) are neutral.
    A reasoning with no units at all (pure arithmetic) scores 1.0: nothing in it is in
    another language. Whether there is a reasoning at all is format_reward's business."""
    units = language_units(split_reasoning(completion)[0], ignore)
    counted = units["zh"] + units["en"] + units["es"] + (units["other"] if lang == "zh" else 0)
    return units[lang] / counted if counted else 1.0


@dataclass(frozen=True)
class RewardWeights:
    accuracy: float = 1.0
    format: float = 0.2
    language: float = 0.1  # R1 adds language consistency to the reward with a small weight
    partial: float = 0.0  # partial credit (digits right); off: R1's rewards are all-or-nothing


def combined_reward(completion: str, problem: Problem, *, weights: RewardWeights = RewardWeights(),
                    think_prefilled: bool = False) -> float:
    """Weighted sum, in [0, the sum of the weights]. GRPO normalises rewards within each group,
    so only the ratios of the weights matter."""
    return (weights.accuracy * accuracy_reward(completion, problem)
            + weights.format * format_reward(completion, think_prefilled=think_prefilled)
            + weights.language * language_reward(completion, problem.lang, ignore=problem.question)
            + weights.partial * partial_credit(completion, problem))
