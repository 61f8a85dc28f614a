"""Operator policy: what the people running a server decide, written down and shown to everyone.

A policy file (TOML or YAML; every key optional, the empty policy is the default):

    system_prompt = "You are a helpful assistant. Answer briefly."
    refusal_message = "Sorry, I can't help with that."      # default for rules without one

    [identity]
    name = "nanoseek"                # -> "You are nanoseek." at the start of the system prompt
    knowledge_cutoff = "2025-01"     # -> "Your knowledge cutoff is 2025-01."
    answer_questions = true          # answer "who are you?" / "what is your knowledge cutoff?"
                                     # from the policy (see below)

    [[refuse]]
    topic = "weapons"
    keywords = ["explosive", "炸药"] # whole words and plurals, normalised (CJK: substring)
    patterns = ['how (do|can) i (make|build) an? (bomb|gun)']   # regex, case-insensitive
    message = "I can't help with weapons."

How it applies (chat completions; raw /v1/completions only get the refusal rules):
- Rules are matched on every user and system message of the chat, since the client writes
  the whole history: a request hidden in an earlier turn or in a system message is caught.
  An earlier user turn that the policy refused (the next message is that refusal) is passed
  over, so a chat goes on after a refusal. The first matching rule wins, and its message is
  returned as a normal completion (finish_reason "stop"), never as an error, so every client
  shows it. The server logs and counts each refusal.
- Text is normalised before matching (`matching_views`): NFKC (fullwidth and other
  compatibility forms), invisible characters removed, case folded, Cyrillic and Greek
  look-alike letters read as Latin, digits written for letters (`expl0s1ve`) and spaced-out
  letters (`b o m b`) read as words; keywords also match their plurals.
- What keyword rules cannot catch: the same request in other words, in a language the rule
  lists no keyword for, misspelled, encoded (base64, ciphers), or split across turns. They are
  a stated operator policy, not a safety classifier.
- The identity sentences and `system_prompt` form one system message placed before the
  client's own system messages.
- A small model does not reliably repeat facts from its system prompt, so when the latest
  user message asks for the model's name or knowledge cutoff (IDENTITY_QUESTIONS, en/es/zh,
  listed at /v1/models) and the policy sets that fact, the policy answers it directly, in the
  question's language. `answer_questions = false` leaves those questions to the model.

The whole policy, rules and question patterns included, is public at GET /v1/models.
"""

from __future__ import annotations

import os
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import yaml


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the field."""


# Identity questions -> language -> patterns (case-insensitive regex, matched anywhere).
IDENTITY_QUESTIONS: dict[str, dict[str, list[str]]] = {
    "knowledge_cutoff": {
        "en": [r"\bknowledge[- ]?cut-?off\b", r"\b(training|data) cut-?off\b", r"\bwhat is your cut-?off\b",
               r"\bhow (recent|up[- ]to[- ]date) is your (knowledge|information|training)\b",
               r"\bwhen does your (knowledge|training data) (end|stop)\b"],
        "es": [r"\bfecha de corte\b", r"\bcorte de (tu )?conocimiento\b",
               r"\bqu[eé] tan recientes? (es|son) (lo que sabes|tus? conocimientos?)\b",
               r"\bhasta cu[aá]ndo llegan? tus? (conocimientos?|datos)\b"],
        "zh": [r"知识截止", r"截止日期", r"训练数据.*(截止|到什么时候)", r"知识.*(更新到|截至)"],
    },
    "name": {
        "en": [r"\bwho are you\b", r"\bwhat('?s| is) your name\b", r"\bwhat are you called\b",
               r"\bintroduce yourself\b"],
        "es": [r"\bqui[eé]n eres\b", r"\bc[oó]mo te llamas\b", r"\bcu[aá]l es tu nombre\b", r"\bpres[eé]ntate\b"],
        "zh": [r"你是谁", r"你叫什么", r"你的名字", r"介绍一下你自己", r"介绍你自己"],
    },
}
IDENTITY_ANSWERS: dict[str, dict[str, str]] = {
    "knowledge_cutoff": {"en": "My knowledge cutoff is {knowledge_cutoff}.",
                         "es": "Mi fecha de corte de conocimiento es {knowledge_cutoff}.",
                         "zh": "我的知识截止日期是{knowledge_cutoff}。"},
    "name": {"en": "I am {name}.", "es": "Soy {name}.", "zh": "我是{name}。"},
}
_COMPILED = {fact: {lang: [re.compile(p, re.IGNORECASE) for p in ps] for lang, ps in langs.items()}
             for fact, langs in IDENTITY_QUESTIONS.items()}

DEFAULT_REFUSAL = "I'm sorry, but I can't help with that."


@dataclass(frozen=True)
class Identity:
    name: str | None = None
    knowledge_cutoff: str | None = None
    answer_questions: bool = True

    def sentences(self) -> str:
        parts = []
        if self.name:
            parts.append(f"You are {self.name}.")
        if self.knowledge_cutoff:
            parts.append(f"Your knowledge cutoff is {self.knowledge_cutoff}.")
        return " ".join(parts)


@dataclass(frozen=True)
class RefusalRule:
    topic: str
    keywords: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    message: str | None = None  # None: the policy's refusal_message
    _regexes: tuple[re.Pattern, ...] = field(default=(), repr=False, compare=False)

    def match(self, text: str) -> str | None:
        """The keyword or pattern that matches `text` in any of its `matching_views`, or None."""
        views = matching_views(text)
        for keyword, regex in zip(self.keywords + self.patterns, self._regexes):
            if any(regex.search(view) for view in views):
                return keyword
        return None


@dataclass(frozen=True)
class Reply:
    """A policy decision: answer with `text` instead of running the model."""

    kind: str  # "refusal" or "identity"
    rule: str  # the refusal topic, or the identity fact answered
    text: str


@dataclass(frozen=True)
class Policy:
    system_prompt: str = ""
    identity: Identity = Identity()
    refusal_message: str = DEFAULT_REFUSAL
    refuse: tuple[RefusalRule, ...] = ()
    source: str | None = None  # file name it came from

    # ---- loading -----------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Policy":
        path = Path(path)
        if not path.is_file():
            raise PolicyError(f"policy file {path} does not exist")
        suffix = path.suffix.lower()
        try:
            if suffix == ".toml":
                data = tomllib.loads(path.read_text(encoding="utf-8"))
            elif suffix in (".yaml", ".yml"):
                data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            else:
                raise PolicyError(f"policy file {path} must end in .toml, .yaml or .yml")
        except (tomllib.TOMLDecodeError, yaml.YAMLError) as e:
            raise PolicyError(f"policy file {path} is not valid {suffix[1:].upper()}: {e}") from None
        return cls.from_dict(data, source=path.name)

    @classmethod
    def from_dict(cls, data: dict, source: str | None = None) -> "Policy":
        _check_keys(data, "policy", {"system_prompt", "identity", "refusal_message", "refuse"})
        identity = data.get("identity") or {}
        _check_keys(identity, "identity", {"name", "knowledge_cutoff", "answer_questions"})
        rules = data.get("refuse") or []
        if not isinstance(rules, list):
            raise PolicyError("policy refuse must be a list of rules ([[refuse]] in TOML)")
        return cls(
            system_prompt=_text(data, "system_prompt", "system_prompt", ""),
            identity=Identity(
                name=_text(identity, "name", "identity.name", None),
                knowledge_cutoff=_text(identity, "knowledge_cutoff", "identity.knowledge_cutoff", None),
                answer_questions=_flag(identity, "answer_questions", "identity.answer_questions", True),
            ),
            refusal_message=_text(data, "refusal_message", "refusal_message", DEFAULT_REFUSAL),
            refuse=tuple(_rule(r, f"refuse[{i}]") for i, r in enumerate(rules)),
            source=source,
        )

    # ---- applying ----------------------------------------------------------------------------

    @property
    def empty(self) -> bool:
        return not (self.system_prompt or self.identity.sentences() or self.refuse)

    def system_message(self) -> str:
        """The operator's system message ("" when none)."""
        return "\n\n".join(p for p in (self.identity.sentences(), self.system_prompt) if p)

    def apply(self, messages: list[dict]) -> list[dict]:
        """Messages with the operator's system message first."""
        system = self.system_message()
        return [{"role": "system", "content": system}, *messages] if system else list(messages)

    def decide(self, messages: list[dict]) -> Reply | None:
        """For a chat's messages (the client's, latest last): a refusal, a direct identity answer
        to the latest user message, or None (let the model answer)."""
        refusal = self.check_chat(messages)
        if refusal is not None:
            return refusal
        text = messages[-1]["content"]
        if self.identity.answer_questions:
            for fact, langs in _COMPILED.items():
                value = getattr(self.identity, fact)
                if not value:
                    continue
                for lang, regexes in langs.items():
                    if any(r.search(text) for r in regexes):
                        return Reply("identity", fact, IDENTITY_ANSWERS[fact][lang].format(**{fact: value}))
        return None

    def check_chat(self, messages: list[dict]) -> Reply | None:
        """A refusal if any user or system message matches a rule. An earlier user turn that
        the policy refused (the next message gives its refusal) is passed over, so a chat goes
        on after a refusal; a history written to look answered is not."""
        for i, message in enumerate(messages):
            refusal = self.check_refusal(message["content"]) if message["role"] in ("user", "system") else None
            if refusal is None:
                continue
            answer = messages[i + 1] if i + 1 < len(messages) else {}
            if message["role"] == "user" and answer.get("role") == "assistant" and answer.get("content") == refusal.text:
                continue  # refused when it was asked
            return refusal
        return None

    def check_refusal(self, text: str) -> Reply | None:
        for rule in self.refuse:
            if rule.match(text) is not None:
                return Reply("refusal", rule.topic, rule.message or self.refusal_message)
        return None

    def public(self) -> dict:
        """Everything in force, for GET /v1/models: rules are explicit, never hidden."""
        out = {
            "source": self.source,
            "system_prompt": self.system_message(),
            "identity": {"name": self.identity.name, "knowledge_cutoff": self.identity.knowledge_cutoff,
                         "answer_questions": self.identity.answer_questions},
            "refusal_rules": [{"topic": r.topic, "keywords": list(r.keywords), "patterns": list(r.patterns),
                               "message": r.message or self.refusal_message} for r in self.refuse],
            "matching": "refusal rules are matched on every user and system message of a chat (a turn "
                        "already refused is passed over), identity questions on the latest user message; "
                        "text is normalised first (NFKC, case, zero-width characters, look-alike letters, "
                        "digits for letters, spaced-out letters); keywords as whole words with plurals "
                        "(CJK keywords as substrings); patterns as case-insensitive regular expressions",
        }
        facts = [f for f in IDENTITY_QUESTIONS if self.identity.answer_questions and getattr(self.identity, f)]
        out["identity_questions"] = {f: IDENTITY_QUESTIONS[f] for f in facts}
        return out


# ---- validation helpers ------------------------------------------------------------------------


def _check_keys(data, where: str, allowed: set[str]) -> None:
    if not isinstance(data, dict):
        raise PolicyError(f"policy {where} must be a table/mapping, got {type(data).__name__}")
    unknown = sorted(set(data) - allowed)
    if unknown:  # a typo would silently switch a rule off
        raise PolicyError(f"policy {where}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")


def _text(data: dict, key: str, name: str, default):
    value = data.get(key, default)
    if value is not default and not isinstance(value, str):
        if key == "knowledge_cutoff" and not isinstance(value, bool):  # YAML/TOML dates and years
            return str(value)
        raise PolicyError(f"policy {name} must be a string, got {value!r}")
    return value


def _flag(data: dict, key: str, name: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise PolicyError(f"policy {name} must be true or false, got {value!r}")
    return value


def _strings(data: dict, key: str, name: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise PolicyError(f"policy {name} must be a list of non-empty strings, got {value!r}")
    return tuple(value)


def _rule(data, where: str) -> RefusalRule:
    _check_keys(data, where, {"topic", "keywords", "patterns", "message"})
    topic = _text(data, "topic", f"{where}.topic", None)
    if not topic:
        raise PolicyError(f"policy {where}.topic is required (a name for the rule, shown in logs)")
    keywords = _strings(data, "keywords", f"{where}.keywords")
    patterns = _strings(data, "patterns", f"{where}.patterns")
    if not keywords and not patterns:
        raise PolicyError(f"policy {where} ({topic!r}) needs keywords or patterns")
    regexes = [_keyword_regex(k) for k in keywords]
    for j, p in enumerate(patterns):
        try:
            regexes.append(re.compile(p, re.IGNORECASE))
        except re.error as e:
            raise PolicyError(f"policy {where}.patterns[{j}] is not a valid regular expression: {e}") from None
    return RefusalRule(topic, keywords, patterns, _text(data, "message", f"{where}.message", None), tuple(regexes))


def _keyword_regex(keyword: str) -> re.Pattern:
    """Whole-word match with a plural ending, except for CJK text, which has no spaces
    between words and no plurals; the keyword is normalised as the text is."""
    escaped = re.escape(matching_views(keyword.strip())[0])
    if re.search(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]", keyword):
        return re.compile(escaped, re.IGNORECASE)
    return re.compile(rf"(?<!\w){escaped}(?:e?s)?(?!\w)", re.IGNORECASE)


# ---- text normalisation for matching -------------------------------------------------------------

INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u180e\u200b\u200c\u200d\u2060\ufeff"), None)  # soft hyphen, zero-widths
# Cyrillic and Greek letters drawn like Latin ones (Unicode's confusables, the common ones)
LOOKALIKES = str.maketrans("авсеёһіјкӏмнорѕтухԁԛԝ" "αβεικνορτυχ", "abceehijklmhopstyxdqw" "abeikvoptux")
LEET = str.maketrans("013457@$!|", "oieastasil")  # digits and signs written for letters
SPACED_LETTERS = re.compile(r"(?<!\w)\w(?:[\s.\-_*·]\w)+(?!\w)")  # e x p l o s i v e, b.o.m.b


def matching_views(text: str) -> tuple[str, str, str]:
    """The forms of `text` that rules are matched against: normalised (NFKC, which folds
    fullwidth and other compatibility forms; invisible characters removed; case-folded;
    look-alike letters folded), the same with digits read as letters, and that with runs of
    single spaced-out letters joined. Matching only: the model sees the text as sent."""
    base = unicodedata.normalize("NFKC", text).translate(INVISIBLE).casefold().translate(LOOKALIKES)
    leet = base.translate(LEET)
    joined = SPACED_LETTERS.sub(lambda m: re.sub(r"[\s.\-_*·]", "", m.group()), leet)
    return base, leet, joined
