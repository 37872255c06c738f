"""`llmobs export`: OTLP/JSON files and OTLP/HTTP to a real receiver on loopback."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from llmobs.cli import app
from llmobs.otlp.proto import otlp_json_from_protobuf
from llmobs.otlp.send import Sender

runner = CliRunner()
SAMPLE = "sample_traces/agent_traces.jsonl"


def report(*paths: str) -> dict:
    result = runner.invoke(app, ["report", *paths, "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    doc.pop("input")
    return doc


def test_export_file_reads_back_to_the_same_report(tmp_path: Path):
    out = tmp_path / "sample.otlp.jsonl"
    result = runner.invoke(app, ["export", SAMPLE, "-o", str(out), "--batch-size", "1000"])
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert len(lines) == 4  # 3,636 spans in documents of 1,000
    first = json.loads(lines[0])["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert len(first["traceId"]) == 32 and isinstance(first["startTimeUnixNano"], str)
    assert report(str(out)) == report(SAMPLE)


def test_endpoint_json_and_protobuf(receiver, tmp_path: Path):
    result = runner.invoke(app, ["export", SAMPLE, "--endpoint", receiver.url, "--batch-size", "2000"])
    assert result.exit_code == 0, result.output
    assert "sent 3,636 spans in 2 requests" in result.stderr
    assert [(path, kind) for path, kind, _ in receiver.requests] == [("/v1/traces", "application/json")] * 2
    received = tmp_path / "received.jsonl"
    received.write_text("".join(body.decode() + "\n" for _, _, body in receiver.requests))
    assert report(str(received)) == report(SAMPLE)

    receiver.requests.clear()
    result = runner.invoke(app, ["export", SAMPLE, "--endpoint", receiver.url + "/v1/traces", "--protocol", "http/protobuf"])
    assert result.exit_code == 0, result.output
    assert all(kind == "application/x-protobuf" for _, kind, _ in receiver.requests)
    received.write_text("".join(json.dumps(otlp_json_from_protobuf(body)) + "\n" for _, _, body in receiver.requests))
    assert report(str(received)) == report(SAMPLE)


def test_refusal_is_a_clear_error_and_busy_is_retried(receiver):
    receiver.statuses = [400]
    result = runner.invoke(app, ["export", SAMPLE, "--endpoint", receiver.url])
    assert result.exit_code == 2
    assert f"{receiver.url}/v1/traces refused the traces: HTTP 400" in result.stderr and "bad payload" in result.stderr
    receiver.requests.clear()
    receiver.statuses = [503, 503]
    document = {"resourceSpans": []}
    sender = Sender(receiver.url, sleep=lambda s: None)
    sender.send(document)
    assert sender.requests == 1
    assert len(receiver.requests) == 3


def test_unreachable_endpoint_and_bad_arguments():
    result = runner.invoke(app, ["export", SAMPLE, "--endpoint", "http://127.0.0.1:9", "--timeout", "1", "--retries", "1"])
    assert result.exit_code == 2 and "cannot reach http://127.0.0.1:9/v1/traces" in result.stderr and "after 2 attempts" in result.stderr
    assert runner.invoke(app, ["export", SAMPLE]).exit_code == 2
    assert "not an http(s) URL" in runner.invoke(app, ["export", SAMPLE, "--endpoint", "localhost:4318"]).stderr


def test_export_to_stdout_with_non_finite_attributes(tmp_path: Path):
    line = {"type": "span", "trace_id": "a" * 32, "span_id": "b" * 16, "parent_id": None, "name": "r",
            "start": "2026-01-01T00:00:00Z", "duration_ms": 1.0, "status": "ok", "attrs": {"ratio": float("inf"), "n": 1}}
    path = tmp_path / "inf.jsonl"
    path.write_text(json.dumps(line) + "\n")  # the json module writes Infinity, which the models accept
    result = runner.invoke(app, ["export", str(path), "--otlp", "-"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    attrs = {a["key"]: a["value"] for a in document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"]}
    assert attrs["ratio"] == {"doubleValue": "Infinity"} and attrs["n"] == {"intValue": "1"}
    back = tmp_path / "back.jsonl"
    back.write_text(result.stdout)
    from llmobs.read import load_records

    (span,), stats = load_records([str(back)])
    assert stats.bad_lines == 0 and span.attrs == {"ratio": float("inf"), "n": 1}


def test_export_streams_and_keeps_evals_from_another_file(tmp_path: Path, monkeypatch):
    from llmobs.otlp import stream

    monkeypatch.setattr(stream, "WINDOW_TRACES", 3)  # traces leave the window long before the evals arrive
    lines = Path(SAMPLE).read_text().splitlines(keepends=True)
    (tmp_path / "a_traces.jsonl").write_text("".join(line for line in lines if '"type":"eval"' not in line))
    (tmp_path / "b_evals.jsonl").write_text("".join(line for line in lines if '"type":"eval"' in line))
    out = tmp_path / "out.otlp.jsonl"
    result = runner.invoke(app, ["export", str(tmp_path / "a_traces.jsonl"), str(tmp_path / "b_evals.jsonl"), "--otlp", str(out)])
    assert result.exit_code == 0, result.output
    assert "not exported" not in result.stderr
    assert report(str(out)) == report(SAMPLE)


def test_export_strict_writes_nothing(tmp_path: Path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(Path(SAMPLE).read_text() + "{broken\n")
    out = tmp_path / "out.otlp.jsonl"
    result = runner.invoke(app, ["export", str(bad), "--otlp", str(out), "--strict"])
    assert result.exit_code == 2 and "bad.jsonl:5111: not valid JSON (--strict)" in result.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == [bad]
    relaxed = runner.invoke(app, ["export", str(bad), "--otlp", str(out)])
    assert relaxed.exit_code == 0 and "skipped 1 bad line" in relaxed.stderr and out.exists()


def test_file_and_endpoint_in_one_pass_from_stdin(receiver, tmp_path: Path):
    out = tmp_path / "both.otlp.jsonl"
    result = runner.invoke(app, ["export", "-", "--otlp", str(out), "--endpoint", receiver.url], input=Path(SAMPLE).read_text())
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert [json.loads(line) for line in lines] == [json.loads(body) for _, _, body in receiver.requests]
    assert "sent 3,636 spans in 8 requests" in result.stderr
    assert report(str(out)) == report(SAMPLE)


def test_records_read_more_than_once_are_exported_once(tmp_path: Path):
    once = tmp_path / "once.otlp.jsonl"
    assert runner.invoke(app, ["export", SAMPLE, "-o", str(once)]).exit_code == 0
    copy, sample_copy = tmp_path / "copy.otlp.jsonl", tmp_path / "copy.jsonl"
    copy.write_text(once.read_text())
    sample_copy.write_text(Path(SAMPLE).read_text())
    for inputs in ([SAMPLE, str(sample_copy)], [str(once), str(copy)]):  # llmobs records, and OTLP, each read twice
        twice = tmp_path / "twice.otlp.jsonl"
        result = runner.invoke(app, ["export", *inputs, "-o", str(twice)])
        assert result.exit_code == 0, result.output
        assert "5,110 records read more than once were exported once" in result.stderr
        spans = [s for line in twice.read_text().splitlines() for r in json.loads(line)["resourceSpans"] for c in r["scopeSpans"] for s in c["spans"]]
        assert len(spans) == 3636 and len({(s["traceId"], s["spanId"]) for s in spans}) == 3636
        assert report(str(twice)) == report(SAMPLE)
