"""Project configuration: the `[tool.llmobs]` table of the nearest pyproject.toml, or llmobs.toml.

Searched upward from the working directory, so a command run anywhere in a repository finds the
repository's settings. Both the price overrides and the checklist thresholds live there.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmobs.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass(frozen=True)
class ToolConfig:
    """The llmobs settings found, and the file they came from (None when there is none)."""

    table: dict[str, Any]
    path: Path | None

    @property
    def prefix(self) -> str:
        """What the settings' tables are written under in this file: `tool.llmobs.` in a pyproject.toml."""
        return "tool.llmobs." if self.path is not None and self.path.name == "pyproject.toml" else ""

    def section(self, name: str) -> str:
        """A table of the settings as written in this file: `[tool.llmobs.checklist]` or `[checklist]`."""
        return f"[{self.prefix}{name}]"


def suggestion(key: str, known: Iterable[str]) -> str:
    """` (did you mean 'p95_ms'?)` for a key close to a known one, else nothing."""
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def problem_lines(errors: list[Any], where: str, known_keys: Callable[[tuple[Any, ...]], Iterable[str]],
                  typo_cost: str = "a typo would silently switch a gate off") -> list[str]:
    """pydantic's validation errors as one line each in the user's words: `FILE: [SECTION] key: what
    is wrong`, an unknown key with a "did you mean"."""
    lines = []
    for error in errors:
        location = tuple(error["loc"])
        key = str(location[-1]) if location else ""
        parent = location[:-1]
        section = where if not parent else where[:-1] + "." + ".".join(map(str, parent)) + "]"
        if error["type"] == "extra_forbidden":
            lines.append(f"{section} unknown key {key!r}{suggestion(key, known_keys(parent))}: {typo_cost}")
        else:
            lines.append(f"{section} {key}: {plain_words(error)}")
    return lines


def plain_words(error: Any) -> str:
    """What a pydantic error means, without pydantic's phrasing."""
    kind, context = error["type"], error.get("ctx") or {}
    bound = next((context[k] for k in ("ge", "gt", "le", "lt") if k in context), None)
    bound_text = f"{bound:g}" if isinstance(bound, (int, float)) else str(bound)
    if kind in ("greater_than_equal", "greater_than"):
        return f"must be {'at least' if kind.endswith('equal') else 'more than'} {bound_text}"
    if kind in ("less_than_equal", "less_than"):
        return f"must be {'at most' if kind.endswith('equal') else 'less than'} {bound_text}"
    if kind.startswith(("float", "int")):
        return "must be a number"
    if kind.startswith("bool"):
        return "must be true or false"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "must be a table"
    if kind == "missing":
        return "is required"
    message = str(error["msg"]).removeprefix("Value error, ")
    return message[:1].lower() + message[1:]


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None


def load_tool_config(explicit: str | Path | None = None, start: Path | None = None) -> ToolConfig:
    """`[tool.llmobs]` from `explicit`, else from the nearest pyproject.toml that has that table or
    llmobs.toml (whose top level is the table), walking up from `start` (the working directory)."""
    if explicit is not None:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"{path}: no such config file")
        data = _read_toml(path)
        table = data.get("tool", {}).get("llmobs") if path.name == "pyproject.toml" else data
        return ToolConfig(table or {}, path)
    directory = (start or Path.cwd()).resolve()
    for folder in (directory, *directory.parents):
        standalone = folder / "llmobs.toml"
        if standalone.is_file():
            return ToolConfig(_read_toml(standalone), standalone)
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            table = _read_toml(pyproject).get("tool", {}).get("llmobs")
            if table is not None:
                if not isinstance(table, dict):
                    raise ConfigError(f"{pyproject}: [tool.llmobs] must be a table")
                return ToolConfig(table, pyproject)
    return ToolConfig({}, None)
