"""Values from logs written to run or misrender, through every output form: markdown (and a
GitHub job summary), JUnit XML, Prometheus' text format and the terminal show them as text."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from helpers import evaluation, llmobs, root, span, usage, write_jsonl

HOSTILE = ["a|b|c", "`code` ``x``", "<img src=x onerror=alert(1)>", "<script>alert(1)</script>", "[link](javascript:alert(1))",
           "**bold** _em_ # heading", "line\nbreak", "\x1b[31mred\x1b[0m", "[bold red]markup[/]", '"quoted" \\ back', "]]><x/>",
           "nul\x00bell\x07", "\u202eevil-bidi"]


@pytest.fixture(scope="module")
def hostile_log(tmp_path_factory) -> Path:
    records = []
    for i, text in enumerate(HOSTILE * 2):
        trace = f"t{i}"
        records += [root(trace, 100.0 + i, input=text, **{"request.id": text}), span(trace, "a", text, 40.0 + i, status="error", error=text),
                    usage(trace, text, 100, 10, span_id=f"{trace}-a"), evaluation(trace, False, query=text)]
    return write_jsonl(tmp_path_factory.mktemp("hostile") / "hostile.jsonl", records)


def test_markdown_renders_every_value_as_plain_text(hostile_log: Path):
    from markdown_it import MarkdownIt

    for command in (["report"], ["slowest"], ["cost", "--by", "request.id"], ["checklist", "--p95-ms", "1"]):
        text = llmobs(*command, str(hostile_log), "-f", "markdown").stdout
        page = MarkdownIt("commonmark").enable("table").render(text)
        for tag in ("<img", "<script", "<a ", "<strong>bold</strong>", "<em>em</em>", "<x/>"):  # nothing a value wrote became markup
            assert tag not in page, (command, tag)
        assert page.count("<h1>") <= 1 and page.count("<h2>") == text.count("\n## ") + text.startswith("## ")
        shown = html.unescape(re.sub(r"<[^>]+>", "", page))
        assert ("[link](javascript:alert(1))" in shown and "**bold** _em_ # heading" in shown and "`code` ``x``" in shown) or command != ["report"]
        assert "\x1b" not in text and "\x00" not in text and "\u202e" not in text
        for table in re.findall(r"<table>.*?</table>", page, re.DOTALL):  # no value adds a column
            widths = {len(re.findall(r"<t[hd][ >]", row)) for row in re.findall(r"<tr>.*?</tr>", table, re.DOTALL)}
            assert len(widths) == 1, command


def test_junit_xml_parses_and_keeps_values_as_text(hostile_log: Path):
    result = llmobs("checklist", str(hostile_log), "-f", "junit", "--step", f"{HOSTILE[0]}.p95_ms=1")
    suite = ET.fromstring(result.stdout)  # well-formed: no control character, no stray markup
    assert suite.tag == "testsuite" and "\x1b" not in result.stdout and "\x00" not in result.stdout
    assert any("a|b|c" in (case.get("name") or "") for case in suite.iter("testcase"))


def test_prometheus_label_values_round_trip(hostile_log: Path):
    from prometheus_client.parser import text_string_to_metric_families

    text = llmobs("metrics", str(hostile_log)).stdout
    labels = {value for family in text_string_to_metric_families(text) for sample in family.samples for value in sample.labels.values()}
    assert {"a|b|c", '"quoted" \\ back', "]]><x/>", "line\\x0abreak", "\\x1b[31mred\\x1b[0m", "nul\\x00bell\\x07"} <= labels  # escaped by the format, or shown escaped
    assert not any("\x1b" in value or "\x00" in value for value in labels)
    assert "\x1b" not in text


def test_the_terminal_gets_no_escape_sequence_and_no_markup(hostile_log: Path):
    for command in (["report"], ["slowest"], ["trace", "t0"], ["cost", "--by", "request.id"]):
        out = llmobs(*command, str(hostile_log), env={"COLUMNS": "200"}).stdout
        assert "\x1b" not in out and "\x00" not in out and "\x07" not in out and "\u202e" not in out
    assert "[bold red]markup[/]" in llmobs("slowest", str(hostile_log), env={"COLUMNS": "250"}).stdout
