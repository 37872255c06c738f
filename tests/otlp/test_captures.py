"""OTLP captured from real instrumentation libraries (tests/corpus/otlp, made by its capture.py):
protobuf's JSON mapping (base64 ids), OpenLit's framework wrapper spans, OpenLLMetry's workflows."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from helpers import llmobs

OTLP = Path(__file__).resolve().parents[1] / "corpus" / "otlp"
OPENLIT, OPENLLMETRY = OTLP / "openlit-langchain.jsonl", OTLP / "openllmetry-langchain.jsonl"


def report(*paths: Path) -> dict:
    result = llmobs("report", *map(str, paths), "--no-cache", "-f", "json")
    assert result.returncode == 0, result.stderr
    assert "usage-like" not in result.stderr  # time_to_first_token and the like are timings, not usage
    return json.loads(result.stdout)


def spans(path: Path) -> list[dict]:
    return [span for line in path.read_text().splitlines() for resource in json.loads(line)["resourceSpans"]
            for scope in resource["scopeSpans"] for span in scope["spans"]]


def tokens(span: dict) -> tuple[int, int] | None:
    attrs = {a["key"]: a["value"] for a in span.get("attributes", [])}
    if "gen_ai.usage.input_tokens" not in attrs:
        return None
    return int(attrs["gen_ai.usage.input_tokens"]["intValue"]), int(attrs["gen_ai.usage.output_tokens"]["intValue"])


def model_calls(path: Path) -> list[tuple[int, int]]:
    """The usage of every span with usage that has no span with usage below it: the model calls themselves."""
    every = spans(path)
    with_usage = {s["spanId"] for s in every if tokens(s)}
    parents = {s["spanId"]: s.get("parentSpanId") for s in every}
    above = set()
    for span_id in with_usage:
        parent = parents.get(span_id)
        while parent:
            above.add(parent)
            parent = parents.get(parent)
    return [tokens(s) for s in every if s["spanId"] in with_usage and s["spanId"] not in above]  # type: ignore[misc]


@pytest.mark.parametrize("capture", [OPENLIT, OPENLLMETRY], ids=["openlit", "openllmetry"])
def test_each_model_call_counts_once(capture: Path):
    calls = model_calls(capture)
    doc = report(capture)
    assert doc["input"]["bad_lines"] == 0 and doc["requests"]["count"] == 2
    assert (doc["tokens"]["totals"]["input"], doc["tokens"]["totals"]["output"]) == tuple(map(sum, zip(*calls, strict=True))) == (24 + 23, 7 + 110)


def test_openlits_estimate_on_its_wrapper_span_is_not_counted_over_the_real_call(tmp_path: Path):
    """OpenLit's `langchain` span can carry its own, larger token estimate over the provider span's
    real usage (124/399 over 39/7 in a public capture): the real calls count, once."""
    estimates = iter([(124, 399), (123, 673)])
    lines = []
    for line in OPENLIT.read_text().splitlines():
        document = json.loads(line)
        for span in (s for r in document["resourceSpans"] for c in r["scopeSpans"] for s in c["spans"]):
            attrs = {a["key"]: a for a in span["attributes"]}
            if attrs.get("gen_ai.system", {}).get("value") == {"stringValue": "langchain"}:
                estimate = next(estimates)
                attrs["gen_ai.usage.input_tokens"]["value"] = {"intValue": str(estimate[0])}
                attrs["gen_ai.usage.output_tokens"]["value"] = {"intValue": str(estimate[1])}
        lines.append(json.dumps(document))
    estimated = tmp_path / "estimated.jsonl"
    estimated.write_text("\n".join(lines) + "\n")
    doc = report(estimated)
    assert (doc["tokens"]["totals"]["input"], doc["tokens"]["totals"]["output"]) == (47, 117)
    assert doc["cost"] == report(OPENLIT)["cost"]
    trace_id = doc["slowest_requests"][0]["trace_id"]
    view = json.loads(llmobs("trace", str(estimated), trace_id, "-f", "json").stdout)
    root = next(s for s in view["spans"] if s["depth"] == 0)
    assert root["input_tokens"] is None  # the wrapper's estimate is shown as not counted
    # a framework span with nothing below it is all there is: it counts
    alone = tmp_path / "alone.jsonl"
    document = json.loads(lines[0])
    for resource in document["resourceSpans"]:
        for scope in resource["scopeSpans"]:
            scope["spans"] = [s for s in scope["spans"] if "parentSpanId" not in s]
    alone.write_text(json.dumps(document) + "\n")
    assert report(alone)["tokens"]["totals"]["input"] == 124 + 123


def test_protobuf_json_reads_the_same_as_hex_otlp_json(tmp_path: Path):
    def to_hex(node):
        if isinstance(node, dict):
            return {k: base64.b64decode(v).hex() if k in ("traceId", "spanId", "parentSpanId") else to_hex(v) for k, v in node.items()}
        return [to_hex(v) for v in node] if isinstance(node, list) else node

    hexed = tmp_path / "hex.jsonl"
    hexed.write_text("".join(json.dumps(to_hex(json.loads(line))) + "\n" for line in OPENLIT.read_text().splitlines()))
    a, b = report(OPENLIT), report(hexed)
    assert a == b and len(a["slowest_requests"][0]["trace_id"]) == 32


def test_errors_inside_a_pretty_printed_document_point_at_the_span(tmp_path: Path):
    document = json.loads(OPENLLMETRY.read_text().splitlines()[0])
    span = document["resourceSpans"][0]["scopeSpans"][0]["spans"][4]
    span["startTimeUnixNano"] = "soon"
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps(document, indent=2))
    line = next(n for n, text in enumerate(pretty.read_text().splitlines(), 1) if span["spanId"] in text and '"spanId"' in text)
    result = llmobs("report", str(pretty), "--no-cache", "-f", "json")
    sample = json.loads(result.stdout)["input"]["bad_line_samples"][0]
    assert sample.startswith(f"{pretty}:{line}: OTLP document: 1 of ")
    assert "resourceSpans[0].scopeSpans[0].spans[4]" in sample and "not a number of nanoseconds" in sample


def test_a_json_document_that_is_not_otlp_gets_one_message(tmp_path: Path):
    other = tmp_path / "package.json"
    other.write_text(json.dumps({"name": "x", "version": "1.0", "dependencies": {f"d{i}": "1" for i in range(400)}}, indent=2))
    result = llmobs("report", str(other), "--no-cache", "-f", "json")
    assert result.returncode == 2  # nothing in it could be read: an error, once, naming what it is
    assert result.stderr.count(f"{other}:1: a JSON object with keys 'name', 'version', 'dependencies': neither llmobs records "
                               "(one JSON object per line) nor OTLP/JSON trace data (resourceSpans)") == 2  # the sample, and the error quoting it
    assert "not valid JSON" not in result.stderr
