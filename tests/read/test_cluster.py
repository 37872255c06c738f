"""`--engine dask` on a real cluster: a `dask scheduler` and two `dask worker` processes on loopback,
and files in an S3 bucket of a real S3-compatible server (moto's server mode) on loopback. Every
answer equals the local engine's."""

from __future__ import annotations

import gzip
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import canonical, llmobs, mixed_requests, root, same, span, usage, write_jsonl

pytest.importorskip("distributed")
boto3 = pytest.importorskip("boto3")

from llmobs.read import load  # noqa: E402
from llmobs.read.cluster import load_on_cluster  # noqa: E402

SAMPLE = str(Path(__file__).resolve().parents[2] / "sample_traces" / "agent_traces.jsonl")
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """(scheduler address, environment for commands): the scheduler, two single-threaded workers
    in processes of their own, and an S3 server, all on loopback, for this module's tests."""
    s3_port, scheduler_port = free_port(), free_port()
    env = {**os.environ, **CREDENTIALS, "FSSPEC_S3_ENDPOINT_URL": f"http://127.0.0.1:{s3_port}"}
    workdir = tmp_path_factory.mktemp("workers")  # the workers' own folder: relative paths must not work by accident
    processes = [subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3_port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        wait_for_port(s3_port, processes[0])
        processes.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(scheduler_port),
                                           "--no-dashboard"], env=env, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_for_port(scheduler_port, processes[1])
        address = f"tcp://127.0.0.1:{scheduler_port}"
        for _ in range(2):
            processes.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1", "--no-dashboard",
                                               "--local-directory", str(workdir)], env=env, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        from dask.distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
            assert len(client.scheduler_info()["workers"]) == 2
        yield address, env
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def log_with_bad_lines(path: Path, requests: int) -> Path:
    lines = []
    for trace in range(requests):
        t = f"t{trace}"
        lines += [json.dumps(root(t, 50.0 + trace % 17, start=f"2026-0{1 + trace % 5}-02T00:00:00Z")),
                  json.dumps(span(t, f"{t}-a", "tool", 5.0 + trace % 7, status="error" if trace % 4 == 0 else "ok", error="Boom" if trace % 4 == 0 else None)),
                  json.dumps(usage(t, "gpt-4o", 10 + trace, 3, provider="openai"))]
        if trace % 50 == 7:
            lines.append("{torn")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_byte_ranges_on_two_workers_equal_the_local_engine(cluster, tmp_path):
    address, _ = cluster
    log = log_with_bad_lines(tmp_path / "a.jsonl", 400)
    gz = tmp_path / "b.jsonl.gz"
    with gzip.open(gz, "wb") as out:
        out.write(log_with_bad_lines(tmp_path / "plain_b.jsonl", 50).read_bytes())
    paths = [str(log), str(gz)]
    on_cluster = load_on_cluster(paths, address, block_bytes=4096)  # about 20 ranges of the first file
    local = load(paths)
    assert canonical(on_cluster) == canonical(local)
    assert on_cluster.stats.bad_lines == 9 and on_cluster.stats.bad_samples[1].line == local.stats.bad_samples[1].line == 58 * 3 + 1 + 1
    grouped = load_on_cluster(paths, address, block_bytes=4096, group_attrs=("model",))
    assert canonical(grouped) == canonical(load(paths, group_attrs=("model",)))


def test_the_report_made_in_parts_on_two_workers_is_the_local_report(cluster, tmp_path):
    from llmobs.analysis.cluster import report_on_cluster
    from llmobs.analysis.report import build_report
    from llmobs.pricing import Pricer

    address, _ = cluster
    records = mixed_requests(200)
    log = write_jsonl(tmp_path / "a.jsonl", records + records[:30], extra_lines=["{torn"])  # some requests read twice
    report, stats, sources = report_on_cluster([str(log)], address, Pricer(), by="team", block_bytes=8192, parts=5)
    data = load([str(log)], group_attrs=("team",))
    assert stats.duplicates == data.stats.duplicates > 0 and stats.rollups == data.stats.rollups > 0 and sources == [str(log)]
    same(report.to_json_dict(), build_report(data.columns, data.stats, Pricer(), "team").to_json_dict(), weighted=True)


def test_the_cli_on_the_cluster_answers_as_locally(cluster):
    address, env = cluster
    on_cluster_env = {**env, "LLMOBS_DASK_SCHEDULER": address}
    for command in (["slowest", "-f", "json"], ["cost", "-f", "json"], ["report", "-f", "json", "--by", "kind"]):  # from the columns, or in parts
        on_cluster = llmobs(*command, SAMPLE, "--engine", "dask", env=on_cluster_env)
        assert on_cluster.returncode == 0, on_cluster.stderr
        same(json.loads(on_cluster.stdout), json.loads(llmobs(*command, SAMPLE, "--no-cache", env=env).stdout))
    report = json.loads(llmobs("report", SAMPLE, "-f", "json", "--engine", "dask", "--since", "2026-09", env=on_cluster_env).stdout)
    same(report, json.loads(llmobs("report", SAMPLE, "-f", "json", "--since", "2026-09", env=env).stdout))
    assert report["percentiles"] == "exact" and report["requests"]["count"] < 600
    gate = ["checklist", SAMPLE, "-f", "json", "--p95-ms", "4000", "--error-rate", "0.01"]
    local, on_cluster = llmobs(*gate, env=env), llmobs(*gate, "--engine", "dask", env=on_cluster_env)
    assert on_cluster.returncode == local.returncode == 1
    same(json.loads(on_cluster.stdout), json.loads(local.stdout))


def test_agents_session_logs_on_the_cluster_are_converted_together_as_locally(cluster):
    address, env = cluster
    corpus = Path(__file__).resolve().parents[1] / "corpus"
    paths = [str(corpus / "claude-code"), str(corpus / "codex"), SAMPLE]
    on_cluster, local = load_on_cluster(paths, address), load(paths)
    assert canonical(on_cluster) == canonical(local) and on_cluster.sources == local.sources and on_cluster.stats.files == 10
    on_cluster_env = {**env, "LLMOBS_DASK_SCHEDULER": address}
    for command in (["report", "-f", "json"], ["checklist", "-f", "json"]):  # in parts, and the same gate
        remote = llmobs(*command, *paths, "--engine", "dask", env=on_cluster_env)
        here = llmobs(*command, *paths, "--no-cache", env=env)
        assert remote.returncode == here.returncode == 0, remote.stderr
        same(json.loads(remote.stdout), json.loads(here.stdout))
    assert json.loads(here.stdout)["items"][0]["answered"]


def test_s3_paths_are_read_by_the_workers(cluster, tmp_path, monkeypatch):
    import fsspec.config

    address, env = cluster
    for name, value in CREDENTIALS.items():  # this process lists the bucket as the command would
        monkeypatch.setenv(name, value)
    monkeypatch.setitem(fsspec.config.conf, "s3", {"endpoint_url": env["FSSPEC_S3_ENDPOINT_URL"]})
    s3 = boto3.client("s3", endpoint_url=env["FSSPEC_S3_ENDPOINT_URL"], **{"aws_access_key_id": "testing", "aws_secret_access_key": "testing"},
                      region_name="us-east-1")
    s3.create_bucket(Bucket="agent-logs")
    log = log_with_bad_lines(tmp_path / "day1.jsonl", 120)
    s3.upload_file(str(log), "agent-logs", "logs/day1.jsonl")
    s3.upload_file(SAMPLE, "agent-logs", "logs/day2.jsonl")
    with gzip.open(tmp_path / "day3.jsonl.gz", "wb") as out:
        out.write(log_with_bad_lines(tmp_path / "day3.jsonl", 30).read_bytes())
    s3.upload_file(str(tmp_path / "day3.jsonl.gz"), "agent-logs", "logs/day3.jsonl.gz")
    s3.put_object(Bucket="agent-logs", Key="logs/notes.txt", Body=b"not a log")
    local_paths = [str(log), SAMPLE, str(tmp_path / "day3.jsonl.gz")]

    on_cluster = load_on_cluster(["s3://agent-logs/logs/*"], address, block_bytes=2048)
    assert canonical(on_cluster)["spans"] == canonical(load(local_paths))["spans"]
    assert on_cluster.sources == ["s3://agent-logs/logs/day1.jsonl", "s3://agent-logs/logs/day2.jsonl", "s3://agent-logs/logs/day3.jsonl.gz"]
    assert on_cluster.stats.ignored_files == ["s3://agent-logs/logs/notes.txt"]
    assert str(on_cluster.stats.bad_samples[0]) == f"s3://agent-logs/logs/day1.jsonl:{8 * 3 + 1}: " + on_cluster.stats.bad_samples[0].reason

    report = llmobs("report", "s3://agent-logs/logs/*", "-f", "json", "--engine", "dask", "--scheduler", address, env=env)
    assert report.returncode == 0, report.stderr
    expected = json.loads(llmobs("report", *local_paths, "-f", "json", env=env).stdout)
    got = json.loads(report.stdout)
    same({k: v for k, v in got.items() if k != "input"}, {k: v for k, v in expected.items() if k != "input"})
    assert got["input"]["records"] == expected["input"]["records"] and got["input"]["bad_lines"] == expected["input"]["bad_lines"]
    assert "s3://agent-logs/logs/day1.jsonl:25: " in report.stderr


def test_cluster_errors_are_plain(cluster, tmp_path):
    _, env = cluster
    unreachable = llmobs("report", SAMPLE, "--engine", "dask", "--scheduler", f"tcp://127.0.0.1:{free_port()}", env=env)
    assert unreachable.returncode == 2 and "llmobs: error: cannot reach the Dask scheduler at tcp://127.0.0.1:" in unreachable.stderr
    no_scheduler = llmobs("report", SAMPLE, "--engine", "dask", env={**env, "LLMOBS_DASK_SCHEDULER": ""})  # set nowhere, not even in this environment
    assert no_scheduler.returncode == 2 and "--engine dask needs --scheduler ADDRESS" in no_scheduler.stderr
    url_locally = llmobs("report", "s3://agent-logs/x.jsonl", env=env)
    assert url_locally.returncode == 2 and "are read by the workers of --engine dask" in url_locally.stderr
