"""`llmobs watch`, measured: how long after a request is written it shows in the live view and in
/metrics, at 1,000 and 20,000 records a second; the watch's memory while it ingests 10 million
records (flat, or not); and its CPU on an idle log.

Lag: a writer appends requests (3 records each: usage, a step, the root span) at the given rate
for `--seconds`; the watch prints its figures (not on a terminal: a line a second, the view's own
cadence) and serves /metrics, which is read every 20 ms. A request's lag is from its write to the
first line, or scrape, that counts it. With the default `--settle 2s` a trace is let go 2 s after
its root span; `--settle 0.2s` shows what the rest of the pipeline costs.

Memory: batches of 300,000 records are appended, each read before the next, and the file
truncated between batches (as a copy-and-truncate rotation does), so the disk holds one batch;
the watch's resident memory is read from /proc after each million records.

    pip install -e . && python benchmarks/watch_live.py [--seconds 10] [--records 10000000]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

SINCE_START = re.compile(r"since start ([\d,]+) requests")
REQUESTS_TOTAL = re.compile(r'^llmobs_requests_total\{status="(?:ok|error)"\} ([0-9.e+]+)$', re.M)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rfc3339(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def requests_text(prefix: str, first: int, count: int, end: float) -> str:
    """`count` requests of 3 records each, ending at `end`."""
    start, call_end = rfc3339(end - 1.2), rfc3339(end - 1.199)
    out = []
    for n in range(first, first + count):
        trace = f"{prefix}{n:010d}"
        out.append(
            f'{{"type":"usage","trace_id":"{trace}","span_id":"{trace}c","time":"{call_end}","provider":"openai","model":"gpt-4o-mini","input_tokens":{100 + n % 50},"output_tokens":20}}\n'
            f'{{"type":"span","trace_id":"{trace}","span_id":"{trace}c","parent_id":"{trace}r","name":"llm_call","start":"{start}","duration_ms":{800 + n % 400},"status":"ok","kind":"llm"}}\n'
            f'{{"type":"span","trace_id":"{trace}","span_id":"{trace}r","name":"request","start":"{start}","duration_ms":{1200 + n % 700},"status":"ok"}}\n'
        )
    return "".join(out)


def append(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, text.encode())
    finally:
        os.close(descriptor)


class Watch:
    def __init__(self, log: Path, *options: str) -> None:
        self.port = free_port()
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "LLMOBS_NO_CACHE": "1"}
        self.process = subprocess.Popen([sys.executable, "-m", "llmobs", "watch", str(log), "--metrics-port", str(self.port), "--interval", "0.1s", *options],
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=log.parent)
        self.lines: list[tuple[float, int]] = []  # (when, requests counted) of each line printed
        self.scrapes: list[tuple[float, int]] = []
        self.stopping = False
        assert " last " in self.process.stdout.readline()  # type: ignore[union-attr]
        threading.Thread(target=self._read_lines, daemon=True).start()

    def _read_lines(self) -> None:
        for line in self.process.stdout:  # type: ignore[union-attr]
            found = SINCE_START.search(line)
            if found:
                self.lines.append((time.monotonic(), int(found.group(1).replace(",", ""))))

    def scrape(self) -> int:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=10) as answer:
            body = answer.read().decode()
        return round(sum(float(v) for v in REQUESTS_TOTAL.findall(body)))

    def scrape_often(self) -> None:
        while not self.stopping:
            self.scrapes.append((time.monotonic(), self.scrape()))
            time.sleep(0.02)

    def rss_mib(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024  # type: ignore[union-attr]

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.stopping = True
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=120)


def lags(written: list[tuple[float, int]], seen: list[tuple[float, int]]) -> list[float]:
    """Per written request (time, how many written by then): the time until an observation counted it."""
    out, index = [], 0
    for when, total in written:
        while index < len(seen) and seen[index][1] < total:
            index += 1
        if index == len(seen):
            break
        out.append(max(seen[index][0] - when, 0.0))
    return out


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * (len(ordered) - 1) + 0.5), len(ordered) - 1)]


def measure_lag(folder: Path, records_per_second: int, seconds: float, settle: str) -> dict[str, float]:
    log = folder / f"lag-{records_per_second}-{settle}.jsonl"
    log.write_text("")
    watch = Watch(log, "--settle", settle)
    threading.Thread(target=watch.scrape_often, daemon=True).start()
    per_tick = max(records_per_second // 100 // 3, 1)  # requests per 10 ms
    written: list[tuple[float, int]] = []
    start, total = time.monotonic(), 0
    while time.monotonic() - start < seconds:
        append(log, requests_text("r", total, per_tick, time.time()))
        total += per_tick
        written.append((time.monotonic(), total))
        time.sleep(max(0.0, start + len(written) * 0.01 - time.monotonic()))
    achieved = total * 3 / (time.monotonic() - start)
    deadline = time.monotonic() + 60
    while (not watch.lines or watch.lines[-1][1] < total) and time.monotonic() < deadline:
        time.sleep(0.1)
    watch.stop()
    view, metrics = lags(written, watch.lines), lags(written, watch.scrapes)
    return {"achieved": achieved, "view_p50": quantile(view, 0.5), "view_p95": quantile(view, 0.95), "view_max": max(view),
            "metrics_p50": quantile(metrics, 0.5), "metrics_p95": quantile(metrics, 0.95), "metrics_max": max(metrics),
            "counted": watch.lines[-1][1] if watch.lines else 0, "written": total}


def measure_memory(folder: Path, records: int) -> None:
    log = folder / "memory.jsonl"
    log.write_text("")
    watch = Watch(log, "--settle", "0.2s")
    batch = 100_000  # requests: 300,000 records
    done = 0
    next_report = 0
    print(f"{'records ingested':>18} {'RSS MiB':>9} {'records/s':>10}")
    started = time.monotonic()
    while done * 3 < records:
        append(log, requests_text("m", done, batch, time.time()))
        done += batch
        while watch.scrape() < done:
            time.sleep(0.05)
        os.truncate(log, 0)
        if done * 3 >= next_report:
            print(f"{done * 3:>18,} {watch.rss_mib():>9.0f} {done * 3 / (time.monotonic() - started):>10,.0f}", flush=True)
            next_report += 1_000_000
    before = watch.cpu_seconds()
    time.sleep(10)
    print(f"idle: {100 * (watch.cpu_seconds() - before) / 10:.1f} % of a core over 10 s, RSS {watch.rss_mib():.0f} MiB")
    watch.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="how long each rate is written")
    parser.add_argument("--records", type=int, default=10_000_000, help="records ingested for the memory measurement (0: skip it)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        print(f"{'records/s':>10} {'settle':>7} {'achieved':>9} {'view p50':>9} {'p95':>6} {'max':>6} {'/metrics p50':>13} {'p95':>6} {'max':>6}  counted")
        for rate in (1_000, 20_000):
            for settle in ("2s", "0.2s"):
                r = measure_lag(folder, rate, args.seconds, settle)
                print(f"{rate:>10,} {settle:>7} {r['achieved']:>9,.0f} {r['view_p50']:>8.2f}s {r['view_p95']:>5.2f}s {r['view_max']:>5.2f}s "
                      f"{r['metrics_p50']:>12.2f}s {r['metrics_p95']:>5.2f}s {r['metrics_max']:>5.2f}s  {r['counted']:,} of {r['written']:,}", flush=True)
        if args.records:
            measure_memory(folder, args.records)


if __name__ == "__main__":
    main()
