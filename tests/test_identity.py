"""The identity and small-talk chats: complete in every language, many, short, in the
question's language, and shuffled deterministically."""

import re

import pytest

from nanoseek.data.identity import (CLOSING_INTENTS, INTENTS, LANGS, MAX_WORDS, MAX_ZH_CHARS,
                                    OPENING_INTENTS, TWO_EXCHANGE_SHARE, identity_conversations)

HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")  # ideographs
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")  # + CJK punctuation
LATIN = re.compile(r"[A-Za-zÀ-ÿ]")


def entries(lang):
    """(intent, questions, reasoning, answers) of every intent in `lang`."""
    return [(name, *intent[lang]) for name, intent in INTENTS.items()]


def singles(lang):
    return identity_conversations(lang, two_exchange_share=0)


def test_every_intent_has_all_three_languages():
    assert len(INTENTS) >= 40
    assert all(set(intent) == set(LANGS) for intent in INTENTS.values())


@pytest.mark.parametrize("lang", LANGS)
def test_every_intent_has_many_phrasings_and_a_few_answers(lang):
    for name, questions, reasoning, answers in entries(lang):
        assert len(questions) >= 5 and 2 <= len(answers) <= 3 and reasoning, (name, lang)


@pytest.mark.parametrize("lang", LANGS)
def test_one_exchange_chats_are_the_distinct_cross_product(lang):
    chats = singles(lang)
    expected = sum(len(questions) * len(answers) for _, questions, _, answers in entries(lang))
    assert len(chats) == expected == len({repr(c) for c in chats}) >= 300


@pytest.mark.parametrize("lang", LANGS)
def test_chats_are_user_then_assistant_with_reasoning(lang):
    for chat in identity_conversations(lang):
        assert [m["role"] for m in chat] in (["user", "assistant"], ["user", "assistant"] * 2)
        assert all(m["content"] and m["reasoning_content"] for m in chat if m["role"] == "assistant")


@pytest.mark.parametrize("lang", LANGS)
def test_two_exchange_chats_join_two_intents_in_a_natural_order(lang):
    chats = identity_conversations(lang)
    doubles = [c for c in chats if len(c) == 4]
    assert len(doubles) == round(TWO_EXCHANGE_SHARE * len(singles(lang))) == len({repr(c) for c in doubles})
    intent_of = {q: name for name, questions, _, _ in entries(lang) for q in questions}
    for chat in doubles:
        first, second = intent_of[chat[0]["content"]], intent_of[chat[2]["content"]]
        assert first != second and first not in CLOSING_INTENTS and second not in OPENING_INTENTS


@pytest.mark.parametrize("lang", LANGS)
def test_seed_shuffles_the_same_chats(lang):
    chats = identity_conversations(lang, seed=3)
    assert identity_conversations(lang, seed=3) == chats
    other = identity_conversations(lang, seed=4)
    assert other != chats and sorted(map(repr, other)) == sorted(map(repr, chats))


def test_no_user_turn_is_shared_by_two_intents_or_languages():
    questions = [q for lang in LANGS for _, qs, _, _ in entries(lang) for q in qs]
    assert len(questions) == len(set(questions))


@pytest.mark.parametrize("lang", ["en", "es"])
def test_answers_are_short_in_words(lang):
    assert max(len(a.split()) for _, _, _, answers in entries(lang) for a in answers) <= MAX_WORDS


def test_chinese_answers_are_short_in_characters():
    assert max(len(a) for _, _, _, answers in entries("zh") for a in answers) <= MAX_ZH_CHARS


@pytest.mark.parametrize("lang", ["en", "es"])
def test_english_and_spanish_entries_have_no_cjk(lang):
    texts = [t for _, questions, reasoning, answers in entries(lang) for t in [*questions, reasoning, *answers]]
    assert not [t for t in texts if CJK.search(t)]


def test_chinese_reasoning_and_answers_are_chinese_with_no_latin_but_the_name():
    texts = [t for _, _, reasoning, answers in entries("zh") for t in [reasoning, *answers]]
    assert all(HAN.search(t) for t in texts)
    assert not [t for t in texts if LATIN.search(t.replace("nanoseek", ""))]


def test_chinese_questions_are_written_in_chinese():
    assert all(CJK.search(q) for _, questions, _, _ in entries("zh") for q in questions)


@pytest.mark.parametrize("lang", LANGS)
def test_reasoning_is_one_sentence(lang):
    for name, _, reasoning, _ in entries(lang):
        if lang == "zh":
            assert reasoning.endswith("。") and len(re.findall("[。！？]", reasoning)) == 1, name
        else:
            assert reasoning.endswith(".") and len(re.findall(r"[.!?](?:\s|$)", reasoning)) == 1, name


def test_spanish_entries_are_spanish():
    """Every Spanish reasoning and answer has a Spanish letter or one of a few words English
    lacks, so no English line slipped in."""
    spanish = re.compile(r"[áéíóúñü¿¡]|\b(de|el|los|las|que|soy|mis?|una?|con|por|para|y|es)\b", re.I)
    texts = [t for _, _, reasoning, answers in entries("es") for t in [reasoning, *answers]]
    assert not [t for t in texts if not spanish.search(t)]


def test_english_entries_have_no_spanish_letters():
    texts = [t for _, questions, reasoning, answers in entries("en") for t in [*questions, reasoning, *answers]]
    assert not [t for t in texts if re.search("[áéíóúñü¿¡]", t)]
