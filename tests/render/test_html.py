"""The HTML report opened in a real headless Chromium: scripts run without errors, nothing is
fetched, charts are drawn, the numbers are the JSON's, and hostile strings from a log stay text."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import evaluation, root, span, usage, write_jsonl
from typer.testing import CliRunner

from llmobs.cli import app
from llmobs.units import ms

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"  # screenshots kept for a person to look at
SAMPLE = "sample_traces/agent_traces.jsonl"
HOSTILE = [
    "</script><script>document.title='pwned'</script>",
    "<img src=x onerror=\"document.title='pwned'\">",
    "<svg onload=\"document.title='pwned'\"></svg>",
    "\"'><b>bold</b>&amp;",
]

needs_chromium = pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"), reason="no chromium here (.ci/run installs it)")


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def browse(page: Path, *extra: str) -> tuple[str, str]:
    """The page's DOM after its scripts ran, and what the browser logged."""
    assert CHROMIUM is not None, "chromium is not installed; .ci/run installs it"
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--enable-logging=stderr", "--v=0",
         "--host-resolver-rules=MAP * ~NOTFOUND", *extra, "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    return result.stdout, result.stderr


def body_state(dom: str) -> str:
    """The attributes the page's script set on <body> once it ran."""
    return re.search(r"<body([^>]*)>", dom).group(1)


def console_messages(log: str) -> list[str]:
    return [line for line in log.splitlines() if ":CONSOLE" in line]


@pytest.fixture(scope="module")
def hostile_log(tmp_path_factory) -> Path:
    records = []
    for i, text in enumerate(HOSTILE * 3):
        trace = f"t{i}"
        records += [root(trace, 100.0 + i * 10, input=text, **{"request.id": text}), span(trace, "a", text, 40.0 + i, status="error", error="E" + str(i % 2)),
                    usage(trace, "gpt-4o", 1000, 100, span_id=f"{trace}-a"), evaluation(trace, False, query=text)]
    return write_jsonl(tmp_path_factory.mktemp("hostile") / "hostile.jsonl", records)


@needs_chromium
def test_report_page_runs_clean_offline_with_the_json_numbers(tmp_path: Path):
    page = tmp_path / "report.html"
    assert run("report", SAMPLE, "--format", "html", "-o", str(page)).exit_code == 0
    source = page.read_text()
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//|url\(\s*["']?https?:""", source)  # nothing to fetch
    dom, log = browse(page)
    state = body_state(dom)
    assert 'data-ready="1"' in state and "data-js-error" not in state
    assert 'data-resources="0"' in state  # the browser fetched nothing
    assert console_messages(log) == []  # no script error, no blocked request
    assert dom.count('class="chart"') >= 5 and dom.count("<rect") > 20  # histogram, steps, error months, cost, waterfalls
    embedded = json.loads(re.search(r'<script type="application/json" id="llmobs-data">(.*?)</script>', dom, re.DOTALL).group(1))
    expected = json.loads(run("report", SAMPLE, "--format", "json").stdout)
    assert embedded == expected
    p95 = ms(expected["requests"]["latency_ms"]["p95"])
    assert f"<b>{p95}</b><span>p95</span>" in dom
    for step in expected["steps"]:
        assert f'data-sort="{step["p95_ms"]!r}">{ms(step["p95_ms"])}</td>' in dom
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1100,3600",
                    f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120, check=True)
    assert shot.stat().st_size > 50_000


@needs_chromium
def test_hostile_strings_are_shown_as_text_and_never_run(tmp_path: Path, hostile_log: Path):
    for command in (["report"], ["slowest"], ["checklist", "--p95-ms", "1"], ["diff", "-b", str(hostile_log)], ["trace", "t0"]):
        page = tmp_path / f"{command[0]}.html"
        result = run(command[0], str(hostile_log), *command[1:], "--format", "html", "-o", str(page))
        assert result.exit_code in (0, 1), result.output
        dom, log = browse(page)
        title = re.search(r"<title>(.*?)</title>", dom).group(1)
        assert title.startswith("llmobs") and "pwned" not in title
        assert 'data-ready="1"' in body_state(dom) and "data-js-error" not in body_state(dom) and console_messages(log) == []
        assert not re.search(r"<\w+[^>]*\son\w+\s*=", dom)  # no element with an event handler: the hostile ones stayed text
        assert "<img" not in dom and "<b>bold</b>" not in dom
        shown = [text for text in HOSTILE if html.escape(text, quote=False) in dom]  # as the DOM serialises text
        assert shown or command[0] == "diff", f"{command[0]}: no hostile string shown literally"  # diff compares steps of 20 spans or more only


@needs_chromium
def test_checklist_and_diff_pages(tmp_path: Path):
    checklist = tmp_path / "checklist.html"
    assert run("checklist", SAMPLE, "--p95-ms", "2000", "--format", "html", "-o", str(checklist)).exit_code == 1
    dom, log = browse(checklist)
    assert "checklist failed" in dom and "p95_ms" in dom and "FAIL" in dom and console_messages(log) == []
    diff = tmp_path / "diff.html"
    assert run("diff", SAMPLE, "-b", SAMPLE, "--format", "html", "-o", str(diff)).exit_code == 0
    dom, log = browse(diff)
    assert 'class="chart"' in dom and "baseline p95" in dom and console_messages(log) == []


def test_the_embedded_data_cannot_close_its_script_element():
    from llmobs.render.html import _json_for_script

    text = _json_for_script({"name": "</script><script>alert(1)</script><!--", "line": "\u2028"})
    assert "</" not in text and "<!--" not in text and "\u2028" not in text
    assert json.loads(text) == {"name": "</script><script>alert(1)</script><!--", "line": "\u2028"}


def test_the_policy_lets_only_the_pages_own_script_run():
    import base64
    import hashlib

    from llmobs.render.html import CSP, SCRIPT

    assert "'unsafe-inline'" not in CSP.split("script-src", 1)[1].split(";")[0]
    assert f"'sha256-{base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()}'" in CSP


def with_script(page: Path, script: str) -> Path:
    """The page with one more inline script, allowed by its hash (as a test harness would be)."""
    import base64
    import hashlib

    text = page.read_text()
    allowed = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    text = text.replace("script-src ", f"script-src 'sha256-{allowed}' ", 1).replace("</body>", f"<script>{script}</script></body>", 1)
    out = page.with_name("harness-" + page.name)
    out.write_text(text)
    return out


@needs_chromium
def test_an_injected_script_is_refused_by_the_policy(tmp_path: Path):
    page = tmp_path / "report.html"
    assert run("report", SAMPLE, "--format", "html", "-o", str(page)).exit_code == 0
    injected = page.with_name("injected.html")
    injected.write_text(page.read_text().replace("</body>", "<script>document.body.setAttribute('data-injected','1')</script>"
                                                           "<img src=x onerror=\"document.body.setAttribute('data-handler','1')\"></body>", 1))
    dom, log = browse(injected)
    state = body_state(dom)
    assert 'data-ready="1"' in state  # the page's own script ran
    assert "data-injected" not in state and "data-handler" not in state  # what a slip in escaping would add does not
    assert any("Content Security Policy" in line for line in log.splitlines())


@needs_chromium
def test_tables_sort_by_a_clicked_column_in_the_browser(tmp_path: Path):
    page = tmp_path / "slowest.html"
    assert run("slowest", SAMPLE, "--format", "html", "-o", str(page)).exit_code == 0
    harness = with_script(page, (
        "var t=document.querySelector('table.sortable');var th=t.querySelectorAll('th');"
        "function col(i){return Array.prototype.map.call(t.tBodies[0].rows,function(r){var c=r.cells[i];var v=c.getAttribute('data-sort');"
        "return v===null?c.textContent.trim():v;}).join('|');}"
        "th[1].click();document.body.setAttribute('data-up',col(1));th[1].click();document.body.setAttribute('data-down',col(1));"
        "th[0].click();document.body.setAttribute('data-names',col(0));"))
    dom, log = browse(harness)
    state = body_state(dom)
    up = [float(v) for v in re.search(r'data-up="([^"]*)"', state).group(1).split("|")]
    down = [float(v) for v in re.search(r'data-down="([^"]*)"', state).group(1).split("|")]
    names = html.unescape(re.search(r'data-names="([^"]*)"', state).group(1)).split("|")
    assert len(up) > 3 and up == sorted(up) and down == sorted(up, reverse=True)
    assert names == sorted(names, key=str.lower)
    assert console_messages(log) == []


def test_chart_labels_stay_inside_the_chart_and_equal_percentiles_share_one(tmp_path: Path):
    from llmobs.render.html import WIDTH

    page = tmp_path / "r.html"
    assert run("report", SAMPLE, "--format", "html", "-o", str(page)).exit_code == 0
    steps_chart = re.search(r'aria-label="Steps by p95 latency".*?</svg>', page.read_text(), re.DOTALL).group(0)
    notes = re.findall(r'<text class="muted" x="([\d.]+)" y="[\d.]+">([^<]*errors)</text>', steps_chart)
    assert notes and all(float(x) + 6.5 * len(html.unescape(text)) <= WIDTH for x, text in notes)  # "6.2% errors" whole, not "6.2% erro"
    one = write_jsonl(tmp_path / "one.jsonl", [root("t1", 120.0)])
    assert run("report", str(one), "--format", "html", "-o", str(page)).exit_code == 0
    labels = re.findall(r">(p50[^<]*)</text>", page.read_text())
    assert labels == ["p50 = p95 = p99 120 ms"]


def test_the_threshold_table_names_every_column():
    out = run("checklist", SAMPLE, "--p95-ms", "1").stdout
    header = next(line for line in out.splitlines() if "gate" in line and "measured" in line)
    assert header.split() == ["gate", "measured", "limit", "verdict", "measured", "over"]
