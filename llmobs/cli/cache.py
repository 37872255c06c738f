"""`llmobs cache info` and `llmobs cache clear`."""

from __future__ import annotations

from typing import Annotated

import typer

from llmobs.cli.common import _emit, _user_errors
from llmobs.cli.options import InfoFormat
from llmobs.cli.root import _Command, app

cache_app = typer.Typer(name="cache", help="The cache of what earlier runs read, so later runs read only what changed.",
                        no_args_is_help=True, rich_markup_mode=None, context_settings={"help_option_names": ["-h", "--help"]})
app.add_typer(cache_app, name="cache", short_help="The cache of what earlier runs read: info, clear.")


@cache_app.command("info", cls=_Command, short_help="Where the cache is and what it holds.")
def cache_info_command(
    format: Annotated[InfoFormat, typer.Option("--format", "-f", metavar="FORM", help="Output form: table or json.")] = InfoFormat.table,
) -> None:
    """Where the cache is (LLMOBS_CACHE_DIR, else $XDG_CACHE_HOME/llmobs), each log file (or batch of files) it holds
    the columns of, and whether that file changed since: current, grown (only the rest will be
    read), changed (read again), gone, stale (kept by another llmobs version) or damaged."""
    with _user_errors():
        from llmobs.read.cache import Cache
        from llmobs.read.cache.info import cache_info
        from llmobs.units import count, plural, size

        info = cache_info(Cache())
        if format is InfoFormat.json:
            _emit(info.model_dump_json(indent=2) + "\n", None)
            return
        lines = [f"cache: {info.directory} ({size(info.disk_bytes)} in {plural(len(info.entries), 'entry', 'entries')})"]
        for entry in info.entries:
            grouped = f", --by {', '.join(entry.group_attrs)}" if entry.group_attrs else ""
            batch = f" ({plural(entry.files, 'file')} read together)" if entry.files > 1 else ""
            lines.append(f"  {entry.state:<8} {entry.log or '(unreadable manifest)'}{batch}: {count(entry.records)} records, "
                         f"{size(entry.bytes_covered)} of the log, {size(entry.disk_bytes)} on disk{grouped}")
        _emit("\n".join(lines) + "\n", None)


@cache_app.command("clear", cls=_Command, short_help="Empty the cache, or drop what no run can use.")
def cache_clear_command(
    unusable: Annotated[bool, typer.Option("--unusable", help="Only the entries no run can use as they are: their log gone, changed or rewritten, "
                                                             "kept by another llmobs version, or damaged.")] = False,
) -> None:
    """Remove everything the cache holds (the next run reads every file whole, and keeps it again),
    or with --unusable only what no run can use."""
    with _user_errors():
        from llmobs.read.cache import Cache
        from llmobs.read.cache.info import remove_unusable
        from llmobs.units import plural, size

        cache = Cache()
        if unusable:
            removed, freed = remove_unusable(cache)
            _emit(f"llmobs: removed {plural(removed, 'unusable entry', 'unusable entries')} ({size(freed)}) from {cache.directory}\n", None)
            return
        freed = cache.clear()
        _emit(f"llmobs: removed {size(freed)} from {cache.directory}\n", None)
