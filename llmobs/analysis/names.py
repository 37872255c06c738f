"""Step names as people mean them: the variable parts instrumentations put into span names (ids,
numbers, UUIDs, hashes, dates, quoted SQL values) become placeholders, so `GET /users/8412` and
`GET /users/77` are one step, `GET /users/{id}`. Model names with versions are left whole.

Rules are regular expressions applied in order, the user's (`[tool.llmobs.names]`) before the
built-in ones; a name is rewritten once per rule, every match at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from llmobs.config import problem_lines
from llmobs.errors import ConfigError
from llmobs.read.columns import Columns, Strings

# Model families whose names carry versions and dates that are part of the name (gpt-4o-2024-08-06,
# claude-3-5-sonnet-20241022, llama3.1:8b): a whitespace-delimited token starting with one is kept.
MODEL_FAMILIES = (
    "gpt", "chatgpt", "o1", "o3", "o4", "text-embedding", "claude", "gemini", "gemma", "llama", "codellama", "mistral", "mixtral",
    "codestral", "ministral", "qwen", "deepseek", "phi", "command", "embed-", "titan", "nova", "grok", "sonar", "granite", "jamba",
)
_MODEL_TOKEN = re.compile(r"(?<!\S)(?:[\w.-]+/)?(?:" + "|".join(map(re.escape, MODEL_FAMILIES)) + r")(?=[-.:\d]|\s|$)[\w.:-]*", re.IGNORECASE)
_EDGE = r"(?<![A-Za-z0-9{}])"  # a variable part stands alone: not inside a word, not inside a placeholder
_END = r"(?![A-Za-z0-9}])"

BUILTIN_RULES: tuple[tuple[str, str], ...] = (
    (r"'(?:[^']|'')*'", "'{str}'"),  # quoted SQL values
    (_EDGE + r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}" + _END, "{uuid}"),
    (_EDGE + r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?" + _END, "{date}"),
    (_EDGE + r"(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{12,}" + _END, "{hex}"),  # hashes, trace and object ids
    (_EDGE + r"(?=(?:[A-Za-z_-]*\d){3})[A-Za-z0-9_-]{20,}" + _END, "{token}"),  # long random tokens (3 digits or more)
    (_EDGE + r"\d+(?:\.\d+)?" + _END, "{id}"),  # numbers standing alone: /users/8412, order_A-1187, page 3
)
_KEEP, _SLOT = "\ue000", 0xE100  # private-use characters: no rule matches them, so a set-aside model name survives
_KEPT = re.compile(_KEEP + "(.)" + _KEEP, re.DOTALL)
DISTINCT_NAMES_WARNING = 500  # more distinct step names than this after normalising: say so, once


@dataclass(frozen=True)
class NameRules:
    """Ordered (pattern, replacement) rules; `apply` rewrites one name."""

    rules: tuple[tuple[re.Pattern[str], str], ...]

    @classmethod
    def build(cls, user_rules: Sequence[tuple[str, str]] = (), builtin: bool = True) -> NameRules:
        """The user's rules, then (unless `builtin` is off) the built-in ones; patterns must compile."""
        pairs = [*user_rules, *(BUILTIN_RULES if builtin else ())]
        # a replacement is literal text, never a template: backslashes are escaped once, here
        return cls(tuple((re.compile(pattern), replacement.replace("\\", "\\\\")) for pattern, replacement in pairs))

    def apply(self, name: str) -> str:
        """`name` with every rule applied; model names are set aside first and put back after."""
        protected: list[str] = []

        def hide(match: re.Match[str]) -> str:
            protected.append(match.group(0))
            return _KEEP + chr(_SLOT + len(protected) - 1) + _KEEP

        text = _MODEL_TOKEN.sub(hide, name) if _KEEP not in name else name
        for pattern, replacement in self.rules:
            text = pattern.sub(replacement, text)
        return _KEPT.sub(lambda m: protected[ord(m.group(1)) - _SLOT], text) if protected else text


class NameRule(BaseModel):
    """One `[[tool.llmobs.names.rules]]` entry: a regular expression and its literal replacement."""

    model_config = ConfigDict(extra="forbid")

    pattern: str
    replace: str


class NamesConfig(BaseModel):
    """`[tool.llmobs.names]`: the user's rules, tried before the built-in ones (unless `builtin = false`)."""

    model_config = ConfigDict(extra="forbid")

    builtin: bool = True
    rules: list[NameRule] = []


def parse_names_config(table: dict[str, Any], section: str, source: str) -> NameRules:
    """Validate `[tool.llmobs.names]`; every problem (an unknown key, a pattern that does not
    compile) is one line naming the file, the table and the key."""
    try:
        config = NamesConfig.model_validate(table)
    except ValidationError as exc:
        known = lambda parent: list(NameRule.model_fields) if parent else list(NamesConfig.model_fields)  # noqa: E731
        lines = problem_lines(exc.errors(include_input=False), section, known, "a typo would silently leave names as they are")
        raise ConfigError("\n".join(f"{source}: {line}" for line in lines)) from None
    problems = []
    for index, rule in enumerate(config.rules):
        try:
            re.compile(rule.pattern)
        except re.error as exc:
            problems.append(f"{source}: {section} rules[{index}] pattern {rule.pattern!r} is not a regular expression: {exc}")
    if problems:
        raise ConfigError("\n".join(problems))
    return NameRules.build([(rule.pattern, rule.replace) for rule in config.rules], builtin=config.builtin)


def normalize_names(columns: Columns, rules: NameRules) -> tuple[Columns, int]:
    """The columns with every span name normalised (a new names table, span codes remapped), and the
    number of distinct names before. Work is per distinct name, not per span."""
    from dataclasses import replace

    raw = columns.names.values
    table = Strings()
    mapping = np.array([table.code(rules.apply(name)) for name in raw] or [0], dtype=np.int32)[: len(raw)]
    spans = replace(columns.spans, name=mapping[columns.spans.name] if len(raw) else columns.spans.name)
    return replace(columns, spans=spans, names=table), len(raw)


def name_matcher(patterns: Sequence[str], rules: NameRules | None) -> Callable[[str], bool]:
    """Whether a raw span name matches one of the globs, as written or as normalised."""
    import fnmatch

    def matches(name: str) -> bool:
        candidates = (name,) if rules is None else (name, rules.apply(name))
        return any(fnmatch.fnmatchcase(candidate, p) for candidate in candidates for p in patterns)

    return matches
