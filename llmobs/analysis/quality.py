"""Question 7: which queries got wrong answers, from eval records."""

from __future__ import annotations

import numpy as np

from llmobs.analysis.results import FailedQuery, QualitySummary
from llmobs.read.columns import Columns


def analyze_quality(columns: Columns) -> QualitySummary:
    """Every eval with `passed: false`, newest first; the query falls back to the root span's `input`.
    Evals are written for every trace, sampled or not, so they are counted as they are."""
    evals = columns.evals
    failed = np.flatnonzero(evals.passed == 0)
    failed = failed[np.argsort(-evals.time_us[failed], kind="stable")]
    queries = [
        FailedQuery(
            trace_id=columns.trace_ids.values[evals.trace[i]],
            query=evals.query[i] if evals.query[i] is not None else columns.root_input.get(int(evals.trace[i])),
            evaluator=columns.eval_names.values[evals.name[i]],
        )
        for i in failed
    ]
    return QualitySummary(evaluated=len(evals.trace), failed=len(failed), failed_queries=queries)
