"""A table that fits the width it is drawn at without breaking an id, a number or a name in the
middle: ids are shortened to a prefix still unique among the rows (which `llmobs trace` accepts),
names and free text are cut with an ellipsis (to 24 characters, and below only when leaving out
columns by priority was not enough), with a note saying which columns were left out. Piped (not a terminal), it is drawn without box lines.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

GAP = 2  # columns are padded by one space on each side, none at the edges
MIN_TEXT = 12  # a name or a query is never cut shorter than this
COMFORTABLE_TEXT = 24  # … and not below this while a less needed column can be left out instead
MIN_ID = 12  # hex digits of an id prefix: 48 bits, unique in any realistic log


@dataclass(frozen=True)
class Column:
    header: str
    justify: str = "right"
    drop: int = 0  # 0: always shown; otherwise the highest number is left out first
    shrink: bool = False  # free text (a name, a query): may be cut with an ellipsis
    ident: bool = False  # an id: may be shortened to a unique prefix, never cut otherwise
    style: str = ""


def unique_prefix_length(ids: list[str], minimum: int = MIN_ID) -> int:
    """The shortest length ≥ `minimum` at which the prefixes of `ids` are as distinct as the ids."""
    distinct = len(set(ids))
    longest = max((len(i) for i in ids), default=0)
    length = min(minimum, longest)
    while length < longest and len({i[:length] for i in ids}) < distinct:
        length += 1
    return length


class FitTable:
    """Rows of cells (str or `Text`) under `columns`, laid out when the width is known."""

    def __init__(self, title: str, columns: list[Column], caption: str | None = None) -> None:
        self.title = title
        self.columns = columns
        self.caption = caption
        self.rows: list[list[Text]] = []

    def add_row(self, *cells: str | Text) -> None:
        self.rows.append([cell if isinstance(cell, Text) else Text(cell) for cell in cells])

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        columns = list(self.columns)
        rows = [list(row) for row in self.rows]
        natural = [max([cell_len(c.header), *(cell_len(row[i].plain) for row in rows)]) for i, c in enumerate(columns)]

        def needed(active: list[int], widths: list[int]) -> int:
            return sum(widths[i] for i in active) + GAP * (len(active) - 1)

        active = list(range(len(columns)))
        widths = list(natural)
        if needed(active, widths) > width:
            for i, column in enumerate(columns):
                if column.ident and rows:
                    length = unique_prefix_length([row[i].plain for row in rows])
                    for row in rows:
                        row[i] = row[i][:length]
                    widths[i] = max(cell_len(column.header), length)

        def shrink_text(shortest: int) -> None:
            for i, column in enumerate(columns):
                if column.shrink and needed(active, widths) > width:
                    floor = max(cell_len(column.header), min(shortest, natural[i]))
                    widths[i] = max(floor, widths[i] - (needed(active, widths) - width))

        shrink_text(COMFORTABLE_TEXT)  # names first give up what they can spare and still read well,
        left_out = []
        for i in sorted((i for i, c in enumerate(columns) if c.drop), key=lambda i: -columns[i].drop):
            if needed(active, widths) <= width:
                break
            active.remove(i)  # then the least needed columns go,
            left_out.append(columns[i].header)
        shrink_text(MIN_TEXT)  # and only then are names cut shorter

        plain = not console.is_terminal
        table = Table(box=None if plain else box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
        for i in active:
            column = columns[i]
            table.add_column(column.header, justify=column.justify, no_wrap=True, overflow="ellipsis",  # type: ignore[arg-type]
                             min_width=widths[i], max_width=widths[i], style=column.style)
        for row in rows:
            table.add_row(*(row[i] for i in active))
        if plain:
            yield Text("")  # box lines would set tables apart on a terminal
        yield Text(self.title, style="bold")  # title and caption as lines of their own: never squeezed to the table's width
        yield table
        if self.caption:
            yield Text(self.caption, style="dim")
        if left_out:
            yield Text(f"({', '.join(left_out)}: left out at this width)", style="dim")

