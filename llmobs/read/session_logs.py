"""Claude Code session logs converted by the compiled core (`native/src/claude_code`), which
follows `llmobs.agents.claude_code` step for step (a property test holds them equal) and writes
its records as FORMAT v1 lines for the record decoder.

Python stays the judge of what it is not sure of: a line it could not read is named bad here with
the Python converter's reason when `json.loads` refuses it too; a line `json.loads` takes, or a
value it cannot write (a time past the calendar), hands the whole batch back (None), to be
converted by Python.
"""

from __future__ import annotations

import json
from pathlib import PurePath

from llmobs.agents import Converted, json_object
from llmobs.read import native
from llmobs.read.columns import Columns
from llmobs.read.decode import columns_of, judged_columns
from llmobs.read.judge import account_session_logs, judge_converted
from llmobs.read.stats import InputStats

AGENT = "claude-code"


def compiled_conversion(files: list[tuple[str, bytes | str]], threads: int) -> tuple[bytes, list[tuple]] | None:
    """The compiled core's records (FORMAT v1 JSONL) and per-file accounts (lines, bad lines,
    skipped types, copies) for Claude Code session logs `files` (name, and the bytes or a path the
    core reads them from on its threads); None when the batch is Python's, or a file could not be
    read (Python reads it again and names the error)."""
    try:
        logs = native.ClaudeCodeLogs([(PurePath(name).stem, data) for name, data in files], threads)
    except UnicodeEncodeError:  # a file name Python holds with surrogates
        return None
    if logs.failed():
        return None
    judged = []
    for file_index, number, line in logs.unsure():
        verdict = json_object(line)
        if not isinstance(verdict, str):
            return None  # a line Python reads: the batch is Python's
        judged.append((file_index, number, verdict))
    records, accounts, _why = logs.convert(judged)
    return None if records is None else (records, accounts)


def claude_code_columns(files: list[tuple[str, bytes | str]], group_attrs: tuple[str, ...], stats: InputStats, threads: int) -> list[Columns] | None:
    """The columns of Claude Code session logs `files`, converted together in the compiled core
    and accounted in `stats`; None (nothing accounted) when the batch is Python's."""
    converted = compiled_conversion(files, threads)
    if converted is None:
        return None
    records, accounts = converted
    names = [name for name, _ in files]
    account_session_logs(names, [_converted(*account) for account in accounts], stats)
    decoder = native.StreamDecoder(list(group_attrs))
    _, unsure = decoder.feed(records, [(0, len(records))], 1)
    columns = columns_of(decoder.finish(), group_attrs)
    stats.count_records(len(columns.spans.trace), len(columns.usage.trace), len(columns.evals.trace))
    judged_records = [record for _, _, line, _ in unsure if (record := judge_converted(AGENT, json.loads(line), names, stats)) is not None]
    return [columns, *judged_columns(judged_records, group_attrs, stats)]


def _converted(lines: int, bad: list[tuple[int, str]], skipped: list[tuple[str, int]], copies: int) -> Converted:
    account = Converted(lines)
    account.bad = bad
    account.skipped = dict(skipped)
    account.copies = copies
    return account
