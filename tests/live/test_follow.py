"""The follower against real files changed the ways writers and rotators change them: every line
read once, none missed, none twice, checked by the lines' own contents."""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

from livelog import append

from llmobs.live.follow import RETIRED_QUIET_SECONDS, Follower


def numbered(first: int, count: int) -> str:
    return "".join(f'{{"n": {n}}}\n' for n in range(first, first + count))


def read_all(follower: Follower, polls: int = 1) -> list[tuple[str, int, str]]:
    """(file, line number, line) of everything the polls gave."""
    out = []
    for _ in range(polls):
        for chunk in follower.poll():
            for offset, line in enumerate(chunk.data.decode().splitlines()):
                out.append((chunk.name, chunk.first_line + offset, line))
    return out


def values(found: list[tuple[str, int, str]]) -> list[int]:
    return [int(line.split(":")[1].strip(" }")) for _, _, line in found]


def test_a_last_line_without_its_newline_waits_for_it(tmp_path: Path) -> None:
    log = tmp_path / "t.jsonl"
    log.write_text("")
    follower = Follower([str(log)], start_at_end=True)
    append(log, '{"n": 1}\n{"n": 2')
    assert read_all(follower) == [(str(log), 1, '{"n": 1}')]
    assert read_all(follower) == []
    append(log, '}\n')
    assert read_all(follower) == [(str(log), 2, '{"n": 2}')]


def test_start_at_end_skips_what_is_there_and_counts_its_lines(tmp_path: Path) -> None:
    log = tmp_path / "t.jsonl"
    log.write_text(numbered(1, 5))
    follower = Follower([str(log)], start_at_end=True)
    append(log, numbered(6, 2))
    assert read_all(follower) == [(str(log), 6, '{"n": 6}'), (str(log), 7, '{"n": 7}')]
    from_start = Follower([str(log)], start_at_end=False)
    assert values(read_all(from_start)) == list(range(1, 8))


def test_rotation_by_rename_reads_the_old_file_to_its_end_and_the_new_one_from_its_start(tmp_path: Path, monkeypatch) -> None:
    log = tmp_path / "t.jsonl"
    log.write_text("")
    follower = Follower([str(log)], start_at_end=True)
    append(log, numbered(1, 5))
    assert values(read_all(follower)) == [1, 2, 3, 4, 5]
    append(log, numbered(6, 2))  # written, not yet seen, when the log is rotated
    os.rename(log, tmp_path / "t.jsonl.1")
    append(tmp_path / "t.jsonl.1", numbered(8, 1))  # the writer still has the old file open
    append(log, numbered(100, 3))  # and the next writer the new one
    found = read_all(follower, polls=2)
    assert sorted(values(found)) == [6, 7, 8, 100, 101, 102]
    assert [(line_no, v) for (name, line_no, _), v in zip(found, values(found), strict=True) if name == str(log) and v >= 100] == [(1, 100), (2, 101), (3, 102)]
    monkeypatch.setattr("llmobs.live.follow.time.monotonic", lambda: 1e12)  # long quiet: the old file is let go
    append(tmp_path / "t.jsonl.1", '{"n": 9}')  # a last line the writer never finished
    assert values(read_all(follower)) == [9]
    assert len(follower.files) == 1
    assert RETIRED_QUIET_SECONDS > 0


def test_a_rotated_file_that_matches_the_glob_is_not_read_again(tmp_path: Path) -> None:
    log = tmp_path / "a.jsonl"
    log.write_text("")
    follower = Follower([str(tmp_path / "*.jsonl")], start_at_end=True)
    append(log, numbered(1, 3))
    read_all(follower)
    os.rename(log, tmp_path / "a.1.jsonl")  # renamed to a name the glob matches: the same file
    append(tmp_path / "a.1.jsonl", numbered(4, 1))
    append(log, numbered(10, 1))
    assert sorted(values(read_all(follower, polls=2))) == [4, 10]


def test_copy_and_truncate_misses_nothing_and_counts_nothing_twice(tmp_path: Path) -> None:
    log = tmp_path / "t.jsonl"
    log.write_text("")
    follower = Follower([str(tmp_path / "t.jsonl*")], start_at_end=True)
    append(log, numbered(1, 5))
    assert values(read_all(follower)) == [1, 2, 3, 4, 5]
    append(log, numbered(6, 2))  # written after the last look, before the copy
    shutil.copyfile(log, tmp_path / "t.jsonl.1")
    os.truncate(log, 0)
    append(log, numbered(20, 2))
    found = read_all(follower, polls=2)
    assert sorted(values(found)) == [6, 7, 20, 21]
    assert any("truncated" in event for event in follower.events)
    assert any("a copy of a file already read" in event for event in follower.events)


def test_a_truncation_written_past_the_old_end_before_the_next_look_is_still_seen(tmp_path: Path) -> None:
    log = tmp_path / "t.jsonl"
    log.write_text("")
    follower = Follower([str(log)], start_at_end=True)
    append(log, numbered(1, 3))
    read_all(follower)
    os.truncate(log, 0)
    append(log, numbered(10, 5))  # longer than what was read before
    assert values(read_all(follower)) == [10, 11, 12, 13, 14]


def test_a_compressed_rotation_is_a_copy_and_a_new_gzip_is_read_whole_once(tmp_path: Path) -> None:
    log = tmp_path / "t.jsonl"
    log.write_text("")
    follower = Follower([str(tmp_path)], start_at_end=True)
    append(log, numbered(1, 4))
    read_all(follower)
    with gzip.open(tmp_path / "t.1.jsonl.gz", "wb") as handle:
        handle.write(log.read_bytes() + numbered(5, 1).encode())  # the rotated file, one line more than was read
    os.truncate(log, 0)
    with gzip.open(tmp_path / "other.jsonl.gz", "wb") as handle:
        handle.write(numbered(50, 3).encode())
    found = read_all(follower, polls=3)
    assert sorted(values(found)) == [5, 50, 51, 52]


def test_files_that_appear_later_are_read_from_their_start(tmp_path: Path) -> None:
    follower = Follower([str(tmp_path)], start_at_end=True)
    assert read_all(follower) == []
    (tmp_path / "new.jsonl").write_text(numbered(1, 2))
    (tmp_path / "notes.txt").write_text("not a log\n")
    assert [(Path(name).name, line_no) for name, line_no, _ in read_all(follower)] == [("new.jsonl", 1), ("new.jsonl", 2)]


def test_resume_goes_on_where_the_last_run_stopped_and_new_files_since_are_read_whole(tmp_path: Path) -> None:
    log = tmp_path / "t.jsonl"
    log.write_text("")
    first = Follower([str(tmp_path)], start_at_end=True)
    append(log, numbered(1, 3))
    read_all(first)
    positions = first.positions()
    first.close()
    stopped = os.stat(log).st_mtime - 1
    append(log, numbered(4, 2))
    (tmp_path / "later.jsonl").write_text(numbered(30, 1))
    second = Follower([str(tmp_path)], start_at_end=True, resume=positions, new_since=stopped)
    found = read_all(second)
    assert sorted(values(found)) == [4, 5, 30]
    assert [(Path(n).name, line_no) for n, line_no, _ in found if Path(n).name == "t.jsonl"] == [("t.jsonl", 4), ("t.jsonl", 5)]


def test_resume_on_a_file_rewritten_in_place_reads_it_from_its_start(tmp_path: Path) -> None:
    log = tmp_path / "t.jsonl"
    log.write_text(numbered(1, 3))
    first = Follower([str(log)], start_at_end=False)
    read_all(first)
    positions = first.positions()
    first.close()
    with open(log, "r+") as handle:  # the same inode, other lines
        handle.write(numbered(7, 5))
    second = Follower([str(log)], start_at_end=True, resume=positions, new_since=0.0)
    assert values(read_all(second)) == [7, 8, 9, 10, 11]
    assert any("rewritten since the last watch" in event for event in second.events)
