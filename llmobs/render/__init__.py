"""Output forms. Each module formats result models and computes nothing.

Every form module names its functions `render_<what>` (`render_report`, `render_checklist` …), so
the command line picks one by form and result alone; JSON renders any result the same way.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

MODULES = {"table": "table", "markdown": "markdown", "csv": "csvout", "junit": "junit", "json": "jsonout", "html": "html"}


def renderer(form: str, what: str) -> Callable[[Any], Any]:
    """The function that renders a `what` result (report, slowest, …) in `form`."""
    if form == "json":
        from llmobs.render.jsonout import render_json

        return render_json
    module = importlib.import_module(f"llmobs.render.{MODULES[form]}")
    return getattr(module, f"render_{what}")  # type: ignore[no-any-return]
