"""Column building: the batched helpers agree with their one-record definitions, and root texts
kept in one buffer answer as a dict would."""

from __future__ import annotations

import json
import pickle

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from llmobs.read.columns import MODEL_ATTRS, TraceTexts, _model_of, _models_of

ATTR_VALUES = st.one_of(st.none(), st.sampled_from(["", "gpt-4o", "m", 0, 1, 5, True, False, [], ["x"], 0.0, 2.5]))


@given(st.lists(st.one_of(st.none(), st.dictionaries(st.sampled_from([*MODEL_ATTRS, "input", "x"]), ATTR_VALUES, max_size=5)), max_size=30))
def test_models_of_many_spans_equals_one_at_a_time(attrs):
    assert _models_of(attrs) == [_model_of(a) if a else None for a in attrs]


@given(st.lists(st.tuples(st.integers(0, 20), st.text(max_size=6)), max_size=40), st.integers(1, 4))
def test_trace_texts_answer_like_a_dict(pairs, batches):
    texts = TraceTexts()
    expected: dict[int, str] = {}
    size = max(1, len(pairs) // batches)
    for start in range(0, len(pairs), size):
        batch = pairs[start : start + size]
        texts.add([code for code, _ in batch], [text for _, text in batch])
        expected.update(batch)
    copy = pickle.loads(pickle.dumps(texts))
    for code in range(22):
        assert texts.get(code) == expected.get(code)
        assert copy.get(code) == expected.get(code)
    assert len(texts) == len(pairs)


def test_trace_texts_merge_translates_codes_and_keeps_the_last():
    first, second = TraceTexts(), TraceTexts()
    first.add([0, 1], ["a", "b"])
    second.add([0, 1], ["c", "\ud800 lone surrogate"])
    merged = TraceTexts()
    merged.extend(first, np.array([5, 6], dtype=np.int32))
    merged.extend(second, np.array([6, 7], dtype=np.int32))
    assert [merged.get(code) for code in (5, 6, 7, 8)] == ["a", "c", "\ud800 lone surrogate", None]


def test_merged_parts_keep_every_root_text():
    """The first part's root texts are handed over, the later parts' translated into its trace codes:
    the merge answers as one builder fed every record would."""
    from helpers import root

    from llmobs.read.columns import ColumnBuilder
    from llmobs.read.merge import merge_columns
    from llmobs.records import RECORD_ADAPTER

    records = [RECORD_ADAPTER.validate_json(json.dumps(root(f"t{i}", 10, input=f"question {i}", **{"request.id": f"req_{i}"}))) for i in range(6)]
    parts, whole = [], ColumnBuilder()
    for batch in (records[:3], records[3:], records[1:2]):  # t1 again in the last part: its later text wins
        builder = ColumnBuilder()
        for record in batch:
            builder.add(record)
            whole.add(record)
        parts.append(pickle.loads(pickle.dumps(builder.finish())) if parts else builder.finish())
    merged, expected = merge_columns(parts), whole.finish()
    for trace in (f"t{i}" for i in range(6)):
        code, expected_code = merged.trace_ids.codes[trace], expected.trace_ids.codes[trace]
        assert merged.root_input.get(code) == expected.root_input.get(expected_code) == f"question {trace[1:]}"
        assert merged.root_request_id.get(code) == expected.root_request_id.get(expected_code) == f"req_{trace[1:]}"
