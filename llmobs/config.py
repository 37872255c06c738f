"""Project configuration: the `[tool.llmobs]` table of the nearest pyproject.toml, or llmobs.toml.

Searched upward from the working directory, so a command run anywhere in a repository finds the
repository's settings. Both the price overrides and the checklist thresholds live there.
"""

from __future__ import annotations

import sys
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
