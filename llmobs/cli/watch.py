"""`llmobs watch` (follow growing logs, alert on rules, serve /metrics), and what hands its rules and
metrics to a Prometheus already running: `llmobs alert-rules` and `llmobs grafana-dashboard`."""

from __future__ import annotations

import signal
import sys
import threading
import time
from typing import Annotated

import typer

from llmobs.cli.common import _cache, _emit, _name_rules, _pricer, _stderr, _tool_config, _user_errors
from llmobs.cli.options import ConfigOpt, OutputOpt, Paths, RawNamesOpt, WindowOpt, _duration, _number
from llmobs.cli.root import _Command, app

POLL_SECONDS = 0.25  # how often the logs are looked at
EVALUATE_SECONDS = 1.0  # how often the window is measured, the rules stepped and the view redrawn
SAVE_SECONDS = 5.0  # how often where the watch got to is kept


def _alerts(tool):  # type: ignore[no-untyped-def]
    from llmobs.analysis.alerts import AlertsConfig, parse_alerts_config

    table = tool.table.get("alerts")
    if table is None:
        return AlertsConfig()
    return parse_alerts_config(table, tool.section("alerts"), str(tool.path))


@app.command(cls=_Command, short_help="Follow growing logs: live checklist, alerts, /metrics.")
def watch(
    paths: Paths,
    window: WindowOpt = None,
    from_start: Annotated[bool, typer.Option("--from-start", help="Count what the logs already hold (through the cache) before following them.")] = False,
    on_alert: Annotated[str | None, typer.Option("--on-alert", metavar="CMD", help="Run CMD (in the shell) for each alert, its JSON on stdin.")] = None,
    webhook: Annotated[str | None, typer.Option("--webhook", metavar="URL", help="POST each alert's JSON to URL (its `text` field suits Slack and Mattermost).")] = None,
    metrics_port: Annotated[int | None, typer.Option("--metrics-port", metavar="PORT", parser=_number(0, 65535, whole=True),
                                                     help="Serve Prometheus metrics at http://ADDRESS:PORT/metrics.")] = None,
    metrics_address: Annotated[str, typer.Option("--metrics-address", metavar="ADDRESS", help="The address /metrics listens on.")] = "127.0.0.1",
    settle: Annotated[float, typer.Option("--settle", metavar="DURATION", parser=_duration,
                                          help="How long a trace must go unwritten after its root span to count as whole.")] = 2.0,
    interval: Annotated[float, typer.Option("--interval", metavar="DURATION", parser=_duration,
                                            help="When not on a terminal: how often a line of figures is printed.")] = 10.0,
    no_cache: Annotated[bool, typer.Option("--no-cache", envvar="LLMOBS_NO_CACHE", help="Neither read through the cache nor keep where the watch got to.")] = False,
    raw_names: RawNamesOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Follow growing logs (files, folders, globs; new files, rotation and truncation), show the checklist
    over a sliding window and since the start, and alert on the [tool.llmobs.alerts] rules: once when a
    rule is breached for its `for`, once when it recovers. Ctrl-C stops it with a summary."""
    with _user_errors():
        from llmobs.analysis.alerts import rule_specs
        from llmobs.live.metrics import LiveMetrics, serve
        from llmobs.live.notify import Notifier
        from llmobs.live.state import state_path
        from llmobs.live.watcher import Watcher, WatchSettings

        if webhook is not None and not webhook.startswith(("http://", "https://")):
            from llmobs.errors import ConfigError

            raise ConfigError(f"--webhook {webhook}: not an http:// or https:// URL")
        tool = _tool_config(config)
        alerts = _alerts(tool)
        settings = WatchSettings(targets=list(paths), window=window or alerts.window or 300.0, settle=settle, from_start=from_start)
        metrics = LiveMetrics() if metrics_port is not None else None
        cache = None if no_cache else _cache()
        watcher = Watcher(settings, rule_specs(alerts), _pricer(tool), None if raw_names else _name_rules(tool), Notifier(command=on_alert, webhook=webhook),
                          metrics=metrics, state_file=None if no_cache else state_path(settings.targets, cache.directory if cache else None), cache=cache)
        if metrics is not None:
            try:
                serve(metrics, metrics_port, metrics_address)  # type: ignore[arg-type]
            except OSError as exc:
                from llmobs.errors import ConfigError

                raise ConfigError(f"--metrics-port {metrics_port}: cannot listen on {metrics_address}:{metrics_port}: {exc.strerror or exc}") from None
        _follow(watcher, interval)


def _follow(watcher, interval: float) -> None:  # type: ignore[no-untyped-def]
    """The loop: look at the logs, measure, redraw, until Ctrl-C or SIGTERM; then the summary."""
    from contextlib import nullcontext

    from rich.console import Console
    from rich.live import Live

    from llmobs.render.live import live_line, render_live

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    live_view = sys.stdout.isatty()
    console = Console()
    shown_bad = 0
    next_evaluation = next_line = next_save = 0.0
    with Live(console=console, refresh_per_second=4, transient=True) if live_view else nullcontext() as view:
        while not stop.is_set():
            watcher.poll()
            shown_bad = _report_bad_lines(watcher.stats, shown_bad)
            now = time.monotonic()
            if now >= next_evaluation:
                status, _ = watcher.evaluate()
                next_evaluation = now + EVALUATE_SECONDS
                if view is not None:
                    view.update(render_live(status))
                elif now >= next_line:
                    sys.stdout.write(live_line(status) + "\n")
                    sys.stdout.flush()
                    next_line = now + interval
            if now >= next_save:
                watcher.save()
                next_save = now + SAVE_SECONDS
            stop.wait(POLL_SECONDS)
    status = watcher.stop()
    for warning in watcher.warnings:
        _stderr(f"llmobs: warning: {warning}")
    if live_view:
        console.print(render_live(status))
    else:
        sys.stdout.write(live_line(status) + "\n")
    _stderr(f"llmobs: watch stopped: {status.total.requests.count:,} requests, {status.total.input.lines:,} lines read since {status.started_at}")


def _report_bad_lines(stats, shown: int) -> int:  # type: ignore[no-untyped-def]
    """Bad lines as they are met, on stderr: the first ones in full, then how many more."""
    if stats.bad_lines <= shown:
        return shown
    samples = stats.bad_line_samples
    for sample in samples[shown:]:
        _stderr(f"llmobs: bad line: {sample}")
    if stats.bad_lines > len(samples):
        _stderr(f"llmobs: {stats.bad_lines - max(shown, len(samples)):,} more bad lines (the first {len(samples)} are shown)")
    return stats.bad_lines


@app.command("alert-rules", cls=_Command, short_help="The [alerts] rules as a Prometheus rules file.")
def alert_rules(
    window: WindowOpt = None,
    output: OutputOpt = None,
    config: ConfigOpt = None,
) -> None:
    """The [tool.llmobs.alerts] rules as a Prometheus alerting-rules file over `llmobs watch`'s
    /metrics series, for Alertmanager to route, silence and page (`promtool check rules` accepts it)."""
    with _user_errors():
        from llmobs.analysis.alerts import rule_specs
        from llmobs.render.alert_rules import render_alert_rules

        alerts = _alerts(_tool_config(config))
        _emit(render_alert_rules(rule_specs(alerts), window or alerts.window or 300.0), output)


@app.command("grafana-dashboard", cls=_Command, short_help="A Grafana dashboard of watch's /metrics.")
def grafana_dashboard(output: OutputOpt = None) -> None:
    """A Grafana dashboard (JSON, to import) of `llmobs watch`'s /metrics: requests, latency
    percentiles, errors, tokens, cost, evals and alert states."""
    with _user_errors():
        from llmobs.render.grafana import render_dashboard

        _emit(render_dashboard(), output)
