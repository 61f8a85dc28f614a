"""Open-ended chat prompts, and how well the model's replies to them behave: does it stop,
does it loop, does it stay in the user's language.

    results = score_open_prompts(prompts, token_ids, texts, eos_id=tokenizer.eos_id)
    results.get("eos")                                  # share of replies that ended
    results.interval("repetition", lang="zh")           # 95% Wilson interval

The prompts (greetings, small talk, questions about the model, simple knowledge, advice,
requests) are written for this evaluation and are never trained on: a test holds them apart
from every user turn of the identity chats and from every chatterbot-corpus line. The three
languages ask the same things in the same order, so languages compare.

Metrics, per reply (greedy, up to `max_new_tokens`, the end-of-sentence token included):
- eos: the reply ends with the end-of-sentence token, i.e. the model stopped by itself
  within the budget instead of being cut off.
- repetition: some 4-gram of *tokens* occurs more than 3 times (overlapping occurrences
  count). Tokens, not words: Chinese has no spaces, and the tokens are what the model loops
  over. The closing end-of-sentence token is not counted.
- language: `language_reward` of the whole reply, reasoning and answer together (the
  reward alone reads only the reasoning), in the prompt's language.
- length: tokens generated.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Sequence

from nanoseek.data.rewards import language_reward
from nanoseek.eval.stats import wilson_interval
from nanoseek.tokenizer import split_reasoning

OPEN_METRICS = ("eos", "repetition", "language", "length")
REPEAT_N = 4  # n-gram size ...
REPEAT_MAX = 3  # ... and the most occurrences that are not yet a loop

OPEN_PROMPTS: dict[str, tuple[str, ...]] = {
    "en": (
        "Good afternoon! I hope your day is going well.",
        "Nice to meet you, my name is Sam.",
        "It is raining here today. What is the weather like where you are?",
        "I just came back from a long walk in the park.",
        "Are you a person or a computer program?",
        "Roughly how large is your neural network?",
        "Do you ever get tired of answering questions?",
        "Do you think before you answer?",
        "Tell me a joke about cats.",
        "Say something that will make me smile.",
        "Write a short poem about the moon.",
        "What is the capital of France?",
        "Why do leaves change colour in autumn?",
        "How many legs does a spider have?",
        "What is water made of?",
        "How many days are there in a leap year?",
        "I can't sleep at night. Any advice?",
        "How can I learn to cook simple meals?",
        "What is a good way to start exercising?",
        "Can you recommend a book for a long train ride?",
        "My friend forgot my birthday and I feel a bit hurt.",
        "Explain in one sentence what a computer does.",
        "Give me three ideas for a rainy weekend.",
        "Do you prefer mornings or evenings?",
    ),
    "es": (
        "¡Buenas! Espero que estés teniendo un buen día.",
        "Mucho gusto, me llamo Lucía.",
        "Hoy llueve aquí. ¿Qué tiempo hace donde estás tú?",
        "Acabo de volver de un paseo largo por el parque.",
        "¿Eres una persona o un programa de computadora?",
        "¿Más o menos qué tamaño tiene tu red neuronal?",
        "¿Alguna vez te cansas de contestar preguntas?",
        "¿Piensas antes de responder?",
        "Cuéntame un chiste de gatos.",
        "Dime algo que me haga sonreír.",
        "Escribe un poema corto sobre la luna.",
        "¿Cuál es la capital de Francia?",
        "¿Por qué las hojas cambian de color en otoño?",
        "¿Cuántas patas tiene una araña?",
        "¿De qué está hecha el agua?",
        "¿Cuántos días tiene un año bisiesto?",
        "No puedo dormir por las noches. ¿Algún consejo?",
        "¿Cómo puedo aprender a cocinar platos sencillos?",
        "¿Cuál es una buena manera de empezar a hacer ejercicio?",
        "¿Me recomiendas un libro para un viaje largo en tren?",
        "Mi amigo olvidó mi cumpleaños y me siento un poco dolido.",
        "Explica en una frase qué hace una computadora.",
        "Dame tres ideas para un fin de semana lluvioso.",
        "¿Prefieres las mañanas o las tardes?",
    ),
    "zh": (
        "下午好！希望你今天过得愉快。",
        "很高兴认识你，我叫小明。",
        "今天我这里下雨了，你那边天气怎么样？",
        "我刚在公园散了很久的步回来。",
        "你是人还是电脑程序？",
        "你的神经网络大概有多大？",
        "你回答问题会觉得累吗？",
        "你回答之前会先思考吗？",
        "给我讲一个关于猫的笑话。",
        "说点让我开心的话吧。",
        "写一首关于月亮的短诗。",
        "法国的首都是哪里？",
        "秋天树叶为什么会变色？",
        "蜘蛛有几条腿？",
        "水是由什么组成的？",
        "闰年有多少天？",
        "我晚上睡不着，有什么建议吗？",
        "我怎样才能学会做简单的饭菜？",
        "开始锻炼身体有什么好方法？",
        "你能推荐一本适合长途火车旅行看的书吗？",
        "我朋友忘了我的生日，我有点难过。",
        "用一句话解释电脑是做什么的。",
        "给我三个下雨的周末可以做的事情。",
        "你更喜欢早上还是晚上？",
    ),
}


@dataclass(frozen=True)
class OpenPrompt:
    lang: str
    text: str


def open_prompts(langs: Sequence[str] = tuple(OPEN_PROMPTS)) -> list[OpenPrompt]:
    """Every prompt of the languages asked for, language by language."""
    return [OpenPrompt(lang, text) for lang in langs for text in OPEN_PROMPTS[lang]]


def normalize(text: str) -> str:
    """Case, whitespace and punctuation folded away: what "the same prompt" means here."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(c for c in text if not c.isspace() and not unicodedata.category(c).startswith("P"))


# ---- metrics (pure: tests feed them hand-made token lists and texts) ---------------------------


def ends_with_eos(token_ids: Sequence[int], eos_id: int) -> bool:
    """The reply stopped by itself: its last generated token is the end-of-sentence token."""
    return bool(token_ids) and token_ids[-1] == eos_id


def repeats(token_ids: Sequence[int], n: int = REPEAT_N, max_count: int = REPEAT_MAX) -> bool:
    """Some n-gram occurs more than `max_count` times (overlapping occurrences count)."""
    grams = Counter(tuple(token_ids[i : i + n]) for i in range(len(token_ids) - n + 1))
    return bool(grams) and max(grams.values()) > max_count


def reply_language(text: str, lang: str) -> float:
    """Share of the whole reply (reasoning and answer) written in `lang` (language_reward's units)."""
    reasoning, answer = split_reasoning(text)
    return language_reward(f"{reasoning}\n{answer}", lang)


def score_reply(prompt: OpenPrompt, token_ids: Sequence[int], text: str, eos_id: int) -> dict:
    """One reply -> {eos, repetition, language, length} (floats, so rows average them)."""
    ended = ends_with_eos(token_ids, eos_id)
    body = token_ids[:-1] if ended else token_ids
    return {"eos": float(ended), "repetition": float(repeats(body)),
            "language": reply_language(text, prompt.lang), "length": float(len(token_ids))}


@dataclass
class OpenPromptResults:
    """Open-prompt metrics per language row (lang, n, OPEN_METRICS) and per reply."""

    max_new_tokens: int
    rows: list[dict] = field(default_factory=list)
    samples: list[dict] = field(default_factory=list)  # lang, prompt, completion, and its scores

    def _rows(self, lang: str | None) -> list[dict]:
        return [r for r in self.rows if lang in (None, r["lang"])]

    def count(self, lang: str | None = None) -> int:
        return sum(r["n"] for r in self._rows(lang))

    def get(self, metric: str, lang: str | None = None) -> float:
        """Mean of `metric` over the replies of `lang` (all when None)."""
        n = self.count(lang)
        return sum(r[metric] * r["n"] for r in self._rows(lang)) / n if n else float("nan")

    def interval(self, metric: str, lang: str | None = None) -> tuple[float, float]:
        """95% Wilson interval over the replies (eos, repetition, language: not length)."""
        return wilson_interval(self.get(metric, lang), self.count(lang))

    @property
    def langs(self) -> list[str]:
        return [r["lang"] for r in self.rows]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "OpenPromptResults":
        return cls(**d)


def score_open_prompts(prompts: Sequence[OpenPrompt], token_ids: Sequence[Sequence[int]], texts: Sequence[str], *,
                       eos_id: int, max_new_tokens: int = 256) -> OpenPromptResults:
    """Score one greedy reply per prompt: `token_ids` as generated (end-of-sentence token
    included), `texts` the decoded replies without it."""
    results = OpenPromptResults(max_new_tokens)
    groups: dict[str, list[dict]] = {}
    for prompt, ids, text in zip(prompts, token_ids, texts, strict=True):
        s = score_reply(prompt, list(ids), text, eos_id)
        groups.setdefault(prompt.lang, []).append(s)
        results.samples.append({"lang": prompt.lang, "prompt": prompt.text, "completion": text, **s})
    for lang, scores in groups.items():
        results.rows.append({"lang": lang, "n": len(scores),
                             **{m: sum(s[m] for s in scores) / len(scores) for m in OPEN_METRICS}})
    return results
