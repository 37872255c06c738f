"""Below which file size the cache cannot pay: `load()` of the same log cut into files of one size,
read without the cache and then from a warm cache (in-process, best of several runs each).

A warm entry costs a manifest read, two small hashes and a mapping per file; reading a small file
costs less than that, so files under `read.cache.store.DEFAULT_MIN_BYTES` are read directly.

    python benchmarks/cache_threshold.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "sample_traces"))

from generate import generate  # noqa: E402

from llmobs.read import load  # noqa: E402
from llmobs.read.cache import Cache  # noqa: E402

SIZES = (16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20)
TOTAL = 32 << 20


def best(seconds: list[float]) -> float:
    return min(seconds)


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "all.jsonl"
        generate(str(source), 1500)
        lines = source.read_bytes().splitlines(keepends=True)
        print(f"{'file size':>10}{'files':>7}{'no cache s':>12}{'warm cache s':>14}{'warm/none':>11}")
        for size in SIZES:
            folder = Path(scratch) / f"files_{size}"
            folder.mkdir()
            count, current, written, chunk = 0, [], 0, 0
            for line in lines:
                current.append(line)
                chunk += len(line)
                if chunk >= size:
                    (folder / f"{count:05}.jsonl").write_bytes(b"".join(current))
                    count, current, written, chunk = count + 1, [], written + chunk, 0
                if written >= TOTAL:
                    break
            time.sleep(2.1)  # files older than the racy window: their entries are trusted, as a while after they were written
            cache = Cache(Path(scratch) / f"cache_{size}", min_bytes=0)
            load([str(folder)], cache=cache)
            cache.wait()
            paths = [str(folder)]
            plain = best([_timed(lambda paths=paths: load(paths)) for _ in range(5)])
            warm = best([_timed(lambda paths=paths, cache=cache: load(paths, cache=cache)) for _ in range(5)])
            print(f"{size >> 10:>8}Ki{count:>7}{plain:>12.3f}{warm:>14.3f}{warm / plain:>10.2f}×")


def _timed(action) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
