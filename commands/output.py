"""How commands print data for people and for pipes — the one place values become text.

Every value that comes from data (names, aliases, keys, errors, payloads) is printed as
text: never parsed as rich markup (an Account named ``[/bold]`` neither crashes a table
nor becomes a link), and with control characters shown as escapes (``ESC[2J`` in a name
cannot clear the operator's screen). Ids are never truncated. When stdout is not a
terminal, tables are plain tab-separated rows without a header (as `gh` prints them).

Tables fit the terminal as `gh` and `kubectl` fit theirs: no value is cut or wrapped;
instead the least important columns (`Column.priority`) are left out until each row fits
on one line. `--wide` (or `-o wide`) shows every column, `--columns a,b` chosen ones (in a
pipe too), and `show` commands print one `key: value` line per field (`print_fields`).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from sfsync.models.durations import spoken

__all__ = [
    "DEFAULT_TABLE_LIMIT",
    "Column",
    "chunks",
    "duration",
    "limit_option",
    "more_note",
    "note",
    "print_fields",
    "print_lines",
    "print_table",
    "row_limit",
    "safe_text",
    "stream_json_array",
    "table_options",
    "visible",
]

#: Rows a table shows unless `--limit` says otherwise (`--json` prints every row).
DEFAULT_TABLE_LIMIT = 50

# C0/C1 controls, DEL, and the bidirectional overrides that reorder what a terminal shows.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(value: Any) -> str:
    """`value` as one line of text with every control character written as an escape."""
    text = "" if value is None else str(value)
    return _UNSAFE.sub(_escape, text)


def safe_text(value: Any, style: str = "") -> Text:
    """A rich `Text` of a data value: never markup, controls made visible."""
    return Text(visible(value), style=style)


@dataclass(frozen=True)
class Column:
    """A table column; `key` columns (ids, references) are never shortened or wrapped.

    `priority`: lower is kept longer when the terminal is too narrow for every column
    (default: the column's position); the first column chosen always shows.
    """

    header: str
    key: bool = False
    priority: int | None = None


@dataclass(frozen=True)
class _TableChoice:
    wide: bool = False
    columns: tuple[str, ...] = ()


_CHOICE = "sfsync.table"
F = TypeVar("F", bound=Callable[..., Any])


def table_options(command: F) -> F:
    """`--wide`/`-o wide` and `--columns` for a command that prints tables."""

    @click.option("--wide", is_flag=True, help="Every column, however wide the terminal.")
    @click.option(
        "-o",
        "--output",
        "output_format",
        type=click.Choice(["table", "wide"]),
        default="table",
        show_default=True,
        help="`wide`: the same as --wide.",
    )
    @click.option(
        "--columns",
        metavar="A,B,...",
        help="Only these columns, in this order (headers as shown; also in a pipe).",
    )
    @functools.wraps(command)
    def wrapper(*args: Any, wide: bool, output_format: str, columns: str | None, **kw: Any) -> Any:
        chosen = tuple(c.strip() for c in columns.split(",") if c.strip()) if columns else ()
        ctx = click.get_current_context()
        ctx.meta[_CHOICE] = _TableChoice(wide or output_format == "wide", chosen)
        return command(*args, **kw)

    return wrapper  # type: ignore[return-value]


def _choice() -> _TableChoice:
    ctx = click.get_current_context(silent=True)
    choice = ctx.meta.get(_CHOICE) if ctx is not None else None
    return choice if isinstance(choice, _TableChoice) else _TableChoice()


def _named(columns: Sequence[Column], names: Sequence[str]) -> list[int]:
    """The indexes of the columns `--columns` names, in its order; an unknown name is an error."""
    headers = [c.header.lower() for c in columns]
    picked = []
    for name in names:
        if name.lower() not in headers:
            raise click.UsageError(
                f"--columns: no column {name!r}; this table has: {', '.join(headers)}"
            )
        picked.append(headers.index(name.lower()))
    return picked


def _fitting(columns: Sequence[Column], widths: Sequence[int], room: int) -> list[int]:
    """The columns to show, in table order: the most important ones whose table fits `room`
    (each column takes its width plus 3 for padding and rule, the table 1 more)."""
    order = sorted(
        range(len(columns)),
        key=lambda n: (columns[n].priority if columns[n].priority is not None else n, n),
    )
    kept: list[int] = []
    used = 1
    for n in order:
        if not kept or used + widths[n] + 3 <= room:
            kept.append(n)
            used += widths[n] + 3
    return sorted(kept)


def _stdout_console() -> Console:
    # Built per call: click's test runner and pipes swap sys.stdout under us.
    return Console(highlight=False)


def print_lines(*lines: Any) -> None:
    """Lines of text made of data values (never markup)."""
    console = _stdout_console()
    for line in lines:
        console.print(safe_text(line), soft_wrap=True)


def print_table(columns: Sequence[Column], rows: Iterable[Sequence[Any]]) -> int:
    """A table on a terminal, tab-separated rows otherwise; returns how many rows it printed.

    On a terminal only the columns that fit its width show (see the module docstring)."""
    console = _stdout_console()
    choice = _choice()
    picked = _named(columns, choice.columns) if choice.columns else None
    if not console.is_terminal:
        count = 0
        for row in rows:
            cells = [row[n] for n in picked] if picked is not None else row
            click.echo("\t".join(visible(v).replace("\t", "\\t") for v in cells))
            count += 1
        return count
    materialised = [[visible(v) for v in row] for row in rows]
    widths = [
        max([len(column.header), *(len(r[n]) for r in materialised)])
        for n, column in enumerate(columns)
    ]
    if picked is not None:
        shown = picked
    elif choice.wide:
        shown = list(range(len(columns)))
    else:
        shown = _fitting(columns, widths, console.width)
    table = Table(show_edge=True)
    for n in shown:
        table.add_column(
            columns[n].header, no_wrap=True, overflow="ignore", min_width=max(widths[n], 1)
        )
    for row in materialised:
        table.add_row(*(Text(row[n]) for n in shown))
    needed = 1 + sum(widths[n] + 3 for n in shown)
    # --wide and --columns may ask for more than the terminal has: lines run past its edge
    # rather than any value being folded.
    if needed > console.width:
        console = Console(highlight=False, width=needed)
    console.print(table, crop=False)
    left_out = [columns[n].header for n in range(len(columns)) if n not in shown]
    if left_out and picked is None and materialised:
        note(f"not shown at this width: {', '.join(left_out)} (--wide shows every column)")
    return len(materialised)


def print_fields(fields: Iterable[tuple[str, Any]]) -> None:
    """One `key: value` line per field (a `show` command's layout): nothing is cut, and a
    long value continues on the next line rather than being folded into a column."""
    console = _stdout_console()
    for key, value in fields:
        shown = "-" if value is None or value == "" else getattr(value, "value", value)
        console.print(safe_text(f"{key}: {visible(shown)}"), soft_wrap=True)


def note(message: str) -> None:
    """A line for the person at the terminal (on stderr, so stdout stays data)."""
    Console(stderr=True, highlight=False).print(safe_text(message, style="dim"), soft_wrap=True)


def more_note(shown: int, total: int, what: str) -> None:
    """Say how many rows a limited table left out and how to see them, or that it is empty."""
    if total == 0:
        note(f"no {what}")
    elif total > shown:
        note(
            f"{total - shown} more {what} not shown (of {total}); "
            f"use --limit {total} to see them, or --json for every row"
        )


def stream_json_array(items: Iterator[Any], default: Any) -> None:
    """One JSON array written item by item, so memory stays flat for any number of rows."""
    first = True
    click.echo("[", nl=False)
    for item in items:
        click.echo(("\n  " if first else ",\n  "), nl=False)
        click.echo(json.dumps(item, default=default), nl=False)
        first = False
    click.echo("\n]" if not first else "]")


limit_option = click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help=f"At most this many rows (tables: {DEFAULT_TABLE_LIMIT} unless given; --json: all).",
)


def row_limit(limit: int | None, as_json: bool) -> int | None:
    """The rows to fetch: what `--limit` says, else every row for JSON and a page for people."""
    if limit is not None:
        return limit
    return None if as_json else DEFAULT_TABLE_LIMIT


def chunks(items: Iterable[Any], size: int = 500) -> Iterator[list[Any]]:
    """`items` in lists of `size` (so per-row look-ups can be batched while streaming)."""
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def duration(seconds: float) -> str:
    """A span for people, to the nearest second: `45s`, `16m 5s`, `16h 16m`, `3d 4h`."""
    return spoken(round(seconds))
