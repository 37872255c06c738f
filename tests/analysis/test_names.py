"""Step names as people mean them: variable parts grouped, model names with versions left whole."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import root, span, write_jsonl
from typer.testing import CliRunner

from llmobs.analysis.names import NameRules, parse_names_config
from llmobs.cli import app
from llmobs.errors import ConfigError

RULES = NameRules.build()


@pytest.mark.parametrize(("raw", "grouped"), [
    ("GET /users/8412", "GET /users/{id}"),
    ("POST /api/v2/orders/77/items/3", "POST /api/v2/orders/{id}/items/{id}"),
    ("GET /files/550e8400-e29b-41d4-a716-446655440000", "GET /files/{uuid}"),
    ("tool:fetch_order_A-1187", "tool:fetch_order_A-{id}"),
    ("query 3f2a9b7c1d2e4f5a", "query {hex}"),
    ("SELECT * FROM orders WHERE id = 42 AND status = 'shipped'", "SELECT * FROM orders WHERE id = {id} AND status = '{str}'"),
    ("INSERT INTO events VALUES ('it''s', 3)", "INSERT INTO events VALUES ('{str}', {id})"),
    ("read /var/reports/2026-05-01.csv", "read /var/reports/{date}.csv"),
    ("cache get session:sk_live_AbC123dEf456GhI789jKl", "cache get session:{token}"),
    ("chat gpt-4o-2024-08-06", "chat gpt-4o-2024-08-06"),
    ("anthropic.chat claude-3-5-sonnet-20241022", "anthropic.chat claude-3-5-sonnet-20241022"),
    ("ollama.chat llama3.1:8b", "ollama.chat llama3.1:8b"),
    ("embeddings text-embedding-3-small", "embeddings text-embedding-3-small"),
    ("generate_content gemini-1.5-pro-002", "generate_content gemini-1.5-pro-002"),
    ("chat openai/gpt-4.1-mini", "chat openai/gpt-4.1-mini"),
    ("GET /api/v1/health", "GET /api/v1/health"),
    ("retrieve_documents_v2", "retrieve_documents_v2"),
    ("search", "search"),
    ("http2 upstream", "http2 upstream"),
])
def test_realistic_names(raw: str, grouped: str):
    assert RULES.apply(raw) == grouped


def test_user_rules_come_first_and_can_replace_the_built_in_ones():
    rules = parse_names_config({"rules": [{"pattern": r"tenant-[a-z]+", "replace": "tenant-{name}"}]}, "[tool.llmobs.names]", "pyproject.toml")
    assert rules.apply("GET /tenant-acme/users/5") == "GET /tenant-{name}/users/{id}"
    only_mine = parse_names_config({"builtin": False, "rules": [{"pattern": r"\d+", "replace": r"\N"}]}, "[names]", "llmobs.toml")
    assert only_mine.apply("GET /users/5/3f2a9b7c1d2e4f5a") == r"GET /users/\N/\Nf\Na\Nb\Nc\Nd\Ne\Nf\Na"  # literal text, no template; no built-in rules


def test_names_config_problems_are_named():
    with pytest.raises(ConfigError) as caught:
        parse_names_config({"rule": [], "rules": [{"pattern": "(", "replace": "x"}]}, "[tool.llmobs.names]", "pyproject.toml")
    assert str(caught.value) == "pyproject.toml: [tool.llmobs.names] unknown key 'rule' (did you mean 'rules'?): a typo would silently leave names as they are"
    with pytest.raises(ConfigError, match=r"pyproject.toml: \[tool.llmobs.names\] rules\[0\] pattern '\(' is not a regular expression"):
        parse_names_config({"rules": [{"pattern": "(", "replace": "x"}]}, "[tool.llmobs.names]", "pyproject.toml")


def run(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.fixture(scope="module")
def routes(tmp_path_factory) -> tuple[Path, list[float]]:
    """2,000 requests, each calling `GET /users/<its own id>` and a step with an id in the tool name."""
    rng = np.random.default_rng(5)
    durations = [float(d) for d in np.round(rng.lognormal(4, 0.7, 2000), 3)]
    records = []
    for i, duration in enumerate(durations):
        trace = f"r{i}"
        records += [root(trace, duration + 10), span(trace, "h", f"GET /users/{1000 + i}", duration),
                    span(trace, "t", f"tool:fetch_order_A-{i}", 5.0 + i % 7)]
    return write_jsonl(tmp_path_factory.mktemp("routes") / "routes.jsonl", records), durations


def test_high_cardinality_routes_group_into_one_step(routes):
    path, durations = routes
    report = json.loads(run("report", str(path), "--format", "json").stdout)
    steps = {s["name"]: s for s in report["steps"]}
    assert set(steps) == {"GET /users/{id}", "tool:fetch_order_A-{id}"}
    assert steps["GET /users/{id}"]["count"] == 2000
    assert steps["GET /users/{id}"]["p95_ms"] == pytest.approx(float(np.percentile(durations, 95)))
    raw = run("report", str(path), "--format", "json", "--raw-names")
    assert len(json.loads(raw.stdout)["steps"]) == 4000
    assert "4,000 distinct step names; drop --raw-names, or add a rule" in raw.stderr
    table = run("report", str(path), "--raw-names")
    assert "the first 20 of 4,000 steps" in table.stdout


def test_filters_and_gates_accept_names_as_written_or_as_grouped(routes):
    path, durations = routes
    one = json.loads(run("report", str(path), "--name", "GET /users/1042", "--format", "json").stdout)
    assert one["requests"]["count"] == 1
    every = json.loads(run("report", str(path), "--name", "GET /users/{id}", "--format", "json").stdout)
    assert every["requests"]["count"] == 2000
    p95 = float(np.percentile(durations, 95))
    for gate in ("GET /users/{id}.p95_ms", "GET /users/1042.p95_ms"):
        assert run("checklist", str(path), "--step", f"{gate}={p95 + 1}").exit_code == 0
        failed = run("checklist", str(path), "--step", f"{gate}={p95 - 1}")
        assert failed.exit_code == 1 and "steps.GET /users/{id}.p95_ms" in failed.stdout
