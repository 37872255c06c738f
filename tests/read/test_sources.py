"""Gzip input: intact members are read whole, and a damaged or cut file gives up every byte it holds
before the damage (checked against zlib fed the file one byte at a time), then its error."""

from __future__ import annotations

import gzip
import io
import json
import zlib
from pathlib import Path

import pytest
from helpers import root
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmobs.read import load
from llmobs.read.sources import STREAM_ERRORS, GzipMembers

LINES = [json.dumps(root(f"trace-{i}", i)) + "\n" for i in range(3_000)]
BODY = "".join(LINES).encode()
PACKED = gzip.compress(BODY)


def inflatable_prefix(packed: bytes) -> bytes:
    """What a gzip stream yields before its first error: zlib fed one byte at a time, so no byte
    inflated before the error is lost with it (the independent oracle)."""
    inflater = zlib.decompressobj(wbits=31)
    out = []
    for index in range(len(packed)):
        try:
            out.append(inflater.decompress(packed[index : index + 1]))
        except zlib.error:
            break
        if inflater.eof:
            break
    return b"".join(out)


def read_all(stream: GzipMembers) -> tuple[bytes, BaseException | None]:
    """Every byte `stream` delivers, and the error it ends with (None at a clean end)."""
    got = bytearray()
    buffer = bytearray(1 << 14)
    while True:
        try:
            count = stream.readinto(buffer)
        except STREAM_ERRORS as exc:
            return bytes(got), exc
        if not count:
            return bytes(got), None
        got += buffer[:count]


def damaged(position: int, garbage: bytes) -> bytes:
    return PACKED[:position] + garbage + PACKED[position + len(garbage) :]


class Unseekable(io.BytesIO):
    def seekable(self) -> bool:
        return False


def test_members_are_read_one_after_another():
    second = gzip.compress(b"second member\n")
    got, error = read_all(GzipMembers(io.BytesIO(PACKED + second + gzip.compress(b""))))
    assert (got, error) == (BODY + b"second member\n", None)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(position=st.integers(min_value=10, max_value=len(PACKED) - 9), garbage=st.binary(min_size=1, max_size=40))
def test_damage_loses_nothing_before_it(position: int, garbage: bytes):
    packed = damaged(position, garbage)
    expected = inflatable_prefix(packed)
    got, error = read_all(GzipMembers(io.BytesIO(packed)))
    if error is None:  # the garbage happened to be a valid continuation (or the same bytes)
        assert got == zlib.decompress(packed, wbits=31)
    else:
        assert got == expected


@settings(max_examples=20, deadline=None)
@given(position=st.integers(min_value=10, max_value=len(PACKED) - 9))
def test_a_stream_that_cannot_seek_back_still_keeps_what_it_delivered(position: int):
    packed = damaged(position, b"\x00\xff" * 8)
    got, error = read_all(GzipMembers(Unseekable(packed)))
    assert error is not None
    assert inflatable_prefix(packed).startswith(got)


def test_cut_file_delivers_everything_then_eof():
    packed = PACKED[: len(PACKED) // 2]
    got, error = read_all(GzipMembers(io.BytesIO(packed)))
    assert isinstance(error, EOFError)
    assert got == inflatable_prefix(packed) and len(got) > len(BODY) // 3


def test_wrong_checksum_delivers_the_member_then_fails():
    packed = bytearray(PACKED)
    packed[-6] ^= 0xFF  # inside the CRC-32 of the trailer
    got, error = read_all(GzipMembers(io.BytesIO(bytes(packed))))
    assert got == BODY and error is not None and "checksum" in str(error).lower()


def test_zero_padding_after_members_is_skipped():
    padded = PACKED + b"\0" * 100_000 + gzip.compress(b"after padding\n") + b"\0" * 3
    assert read_all(GzipMembers(io.BytesIO(padded))) == (BODY + b"after padding\n", None)
    got, error = read_all(GzipMembers(io.BytesIO(PACKED + b"\0" * (1 << 16) + b"\x1f")))  # a lone byte after the padding
    assert got == BODY and isinstance(error, OSError)


def test_trailing_garbage_after_a_member_is_an_error_after_the_member():
    got, error = read_all(GzipMembers(io.BytesIO(PACKED + b"not gzip at all")))
    assert got == BODY and isinstance(error, OSError) and "not gzip data" in str(error)


def test_load_accounts_for_every_line_before_the_damage(tmp_path: Path):
    """The lines before the damage are records; what the damage inflated into is bad lines; the
    torn end and the break itself are bad lines too: every line of the prefix is accounted for."""
    packed = damaged(len(PACKED) * 2 // 3, b"\x00garbage" * 50)
    path = tmp_path / "damaged.jsonl.gz"
    path.write_bytes(packed)
    prefix = inflatable_prefix(packed).split(b"\n")
    whole, torn = prefix[:-1], prefix[-1]
    intact = next(i for i, (got, line) in enumerate(zip(whole, LINES, strict=False)) if got + b"\n" != line.encode())
    data = load([str(path)], threads=1)
    assert intact > 1_000
    assert data.stats.lines == len(whole) + (1 if torn else 0)
    assert data.stats.records >= intact
    assert data.stats.records + data.stats.bad_lines == data.stats.lines + 1  # + the break


@pytest.mark.parametrize("cut", [len(PACKED) // 3, len(PACKED) - 5])
def test_load_of_a_cut_file_keeps_every_whole_line(tmp_path: Path, cut: int):
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(PACKED[:cut])
    whole_lines = inflatable_prefix(PACKED[:cut]).count(b"\n")
    assert load([str(path)], threads=1).stats.records == whole_lines


def test_a_cut_gzip_document_is_one_bad_line(tmp_path: Path):
    document = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "ab" * 16, "spanId": "cd" * 8, "name": "n"}] * 500}]}]}, indent=2)
    packed = gzip.compress(document.encode())
    path = tmp_path / "otlp.json.gz"
    path.write_bytes(packed[: len(packed) // 2])
    stats = load([str(path)]).stats
    assert (stats.lines, stats.records, stats.bad_lines) == (1, 0, 1)
    assert "stream broken, the document cannot be read whole" in stats.bad_line_samples[0]
