"""Question 7: which queries got wrong answers, from eval records."""

from __future__ import annotations

import numpy as np

from llmobs.analysis.results import FailedQuery, QualitySummary
from llmobs.read.columns import Columns


def failed_evals(columns: Columns) -> list[tuple[int, str, str | None, str]]:
    """Every eval with `passed: false` as (time µs, trace id, query, evaluator); the query falls back
    to the root span's `input`."""
    evals = columns.evals
    return [
        (int(evals.time_us[i]), columns.trace_ids.values[evals.trace[i]],
         evals.query[i] if evals.query[i] is not None else columns.root_input.get(int(evals.trace[i])), columns.eval_names.values[evals.name[i]])
        for i in np.flatnonzero(evals.passed == 0).tolist()
    ]


def analyze_quality(columns: Columns) -> QualitySummary:
    """Every eval with `passed: false`, newest first (then by trace id, evaluator and query, so the
    order never depends on the order lines were read). Evals are written for every trace, sampled
    or not, so they are counted as they are."""
    failed = sorted(failed_evals(columns), key=lambda f: (-f[0], f[1], f[3], f[2] or ""))
    queries = [FailedQuery(trace_id=trace, query=query, evaluator=evaluator) for _, trace, query, evaluator in failed]
    return QualitySummary(evaluated=len(columns.evals.trace), failed=len(failed), failed_queries=queries)
