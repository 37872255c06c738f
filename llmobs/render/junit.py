"""JUnit XML for CI systems that show test results natively (GitHub, GitLab, Jenkins, Azure).

One testcase per checklist question, per configured threshold and per compared metric; a failure
carries the measured value and the limit. Unanswered questions are skipped unless `--require-all`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from llmobs.analysis.results import Checklist
from llmobs.render.text import safe
from llmobs.units import ms, pct, with_unit


def _case(suite: ET.Element, classname: str, name: str) -> ET.Element:
    return ET.SubElement(suite, "testcase", classname=classname, name=safe(name), time="0")


def render_checklist(checklist: Checklist) -> str:
    suite = ET.Element("testsuite", name="llmobs checklist")
    failures = skipped = 0
    if checklist.no_data:
        failures += 1
        case = _case(suite, "llmobs.checklist.data", "input holds data")
        ET.SubElement(case, "failure", message=safe(f"no data: {checklist.no_data} (--allow-empty to pass anyway)"), type="no-data")
    for item in checklist.items:
        case = _case(suite, "llmobs.checklist.questions", item.question)
        if item.answered:
            ET.SubElement(case, "system-out").text = safe(item.answer)
        elif checklist.require_all:
            failures += 1
            ET.SubElement(case, "failure", message=f"unanswered: {safe(item.reason)}", type="unanswered")
        else:
            skipped += 1
            ET.SubElement(case, "skipped", message=f"unanswered: {safe(item.reason)}")
    for gate in checklist.gates:
        case = _case(suite, "llmobs.checklist.gates", gate.name)
        if gate.passed:
            continue
        failures += 1
        if gate.measured is None:
            message = f"{gate.name} cannot be measured: {gate.reason}"
        else:
            relation = "below the floor" if gate.kind == "floor" else "above the ceiling"
            message = f"{gate.name} = {with_unit(gate.measured, gate.unit)}, {relation} {with_unit(gate.limit, gate.unit)} ({gate.scope})"
        failure = ET.SubElement(case, "failure", message=safe(message), type="threshold")
        failure.text = f"measured: {gate.measured}\nlimit ({gate.kind}): {gate.limit}"
    if checklist.comparison is not None:
        for row in checklist.comparison.rows:
            case = _case(suite, "llmobs.checklist.baseline", f"{row.name} {row.metric}")
            if row.regression:
                failures += 1
                message = (f"{row.name} {row.metric}: {ms(row.base)} -> {ms(row.new)} ({row.change:+.1%}, interval {row.ci_low:+.1%} to {row.ci_high:+.1%})"
                           if row.metric != "error_rate" else f"{row.name} error rate: {pct(row.base)} -> {pct(row.new)}")
                ET.SubElement(case, "failure", message=safe(message), type="regression")
    suite.set("tests", str(len(suite.findall("testcase"))))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", str(skipped))
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
