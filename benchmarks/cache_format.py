"""Which format the cache keeps columns in, measured: this project's segment (arrays at 64-byte
offsets in one file, mapped into numpy; string tables as one buffer and lengths) against Arrow IPC
(the file format, uncompressed, memory-mapped, with strings as dictionary arrays), on the columns of
the 3-million-record log: the time to write, the time to have the `Columns` back (each in a fresh
process, best of several runs, the file in the page cache), and the size on disk.

    pip install -e '.[bench,parquet]' && python benchmarks/cache_format.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from report_vs_duckdb import ensure_log  # noqa: E402

WRITE = r"""
import sys, time
import pyarrow as pa
from llmobs.read import load
from llmobs.read.cache.segment import Segment, freeze, write_segment
from llmobs.render.parquet import tables
data = load([sys.argv[1]])
columns, stats = data.columns, data.stats
start = time.perf_counter()
write_segment(sys.argv[2], freeze(Segment(columns, stats)))
segment = time.perf_counter() - start
start = time.perf_counter()
for name, table in tables(columns).items():  # one IPC file per table, as the cache would keep them
    with pa.OSFile(f"{sys.argv[3]}.{name}", "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
arrow = time.perf_counter() - start
print(segment, arrow)
"""

READ_SEGMENT = r"""
import sys, time
start = time.perf_counter()
from llmobs.read.cache.segment import read_segment
segment = read_segment(sys.argv[1], ())
print(time.perf_counter() - start)
"""

# Back to what the analyses use: numpy arrays of codes and Python string tables, as the segment gives.
READ_ARROW = r"""
import sys, time
start = time.perf_counter()
import numpy as np
import pyarrow as pa
out = {}
for name in ("spans", "usage", "evals"):
    table = pa.ipc.open_file(pa.memory_map(f"{sys.argv[1]}.{name}")).read_all()
    for column in table.column_names:
        chunked = table.column(column)
        array = chunked.combine_chunks() if chunked.num_chunks != 1 else chunked.chunk(0)
        if pa.types.is_dictionary(array.type):
            out[(name, column)] = (array.indices.fill_null(-1).to_numpy(zero_copy_only=False), array.dictionary.to_pylist())
        elif pa.types.is_string(array.type):
            out[(name, column)] = array.to_pylist()
        else:
            out[(name, column)] = array.to_numpy(zero_copy_only=False)
print(time.perf_counter() - start)
"""


def best(command: list[str], runs: int = 5) -> float:
    return min(float(subprocess.run(command, capture_output=True, text=True, check=True).stdout.split()[-1]) for _ in range(runs))


def main() -> None:
    log = ensure_log(70_000)
    with tempfile.TemporaryDirectory() as scratch:
        segment, arrow = Path(scratch) / "columns.seg", Path(scratch) / "columns.arrow"
        wrote = subprocess.run([sys.executable, "-c", WRITE, str(log), str(segment), str(arrow)], capture_output=True, text=True, check=True).stdout.split()
        read_segment = best([sys.executable, "-c", READ_SEGMENT, str(segment)])
        read_arrow = best([sys.executable, "-c", READ_ARROW, str(arrow)])
        arrow_size = sum(path.stat().st_size for path in Path(scratch).glob("columns.arrow.*"))
        print(f"columns of {log.name}")
        print(f"{'':14}{'write s':>9}{'read s':>9}{'MiB':>8}")
        print(f"{'segment':14}{float(wrote[0]):9.2f}{read_segment:9.3f}{segment.stat().st_size / 2**20:8.0f}")
        print(f"{'Arrow IPC':14}{float(wrote[1]):9.2f}{read_arrow:9.3f}{arrow_size / 2**20:8.0f}")
        print("(read: imports, mapping and checks included; the segment checks a CRC-32 of all its data, Arrow checks none)")


if __name__ == "__main__":
    main()
