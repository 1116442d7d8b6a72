"""How commands print data for people and for pipes — the one place values become text.

Every value that comes from data (names, aliases, keys, errors, payloads) is printed as
text: never parsed as rich markup (an Account named ``[/bold]`` neither crashes a table
nor becomes a link), and with control characters shown as escapes (``ESC[2J`` in a name
cannot clear the operator's screen). Ids are never truncated. When stdout is not a
terminal, tables are plain tab-separated rows without a header (as `gh` prints them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from models.durations import spoken

__all__ = [
    "DEFAULT_TABLE_LIMIT",
    "Column",
    "chunks",
    "duration",
    "limit_option",
    "more_note",
    "note",
    "print_lines",
    "print_table",
    "row_limit",
    "safe_text",
    "stream_json_array",
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
    """A table column; `key` columns (ids, references) are never shortened or wrapped."""

    header: str
    key: bool = False


def _stdout_console() -> Console:
    # Built per call: click's test runner and pipes swap sys.stdout under us.
    return Console(highlight=False)


def print_lines(*lines: Any) -> None:
    """Lines of text made of data values (never markup)."""
    console = _stdout_console()
    for line in lines:
        console.print(safe_text(line), soft_wrap=True)


def print_table(columns: Sequence[Column], rows: Iterable[Sequence[Any]]) -> int:
    """A table on a terminal, tab-separated rows otherwise; returns how many rows it printed."""
    console = _stdout_console()
    if not console.is_terminal:
        count = 0
        for row in rows:
            click.echo("\t".join(visible(v).replace("\t", "\\t") for v in row))
            count += 1
        return count
    materialised = [[visible(v) for v in row] for row in rows]
    table = Table(show_edge=True)
    for n, column in enumerate(columns):
        widest = max((len(r[n]) for r in materialised), default=0)
        if column.key:
            table.add_column(
                column.header, no_wrap=True, overflow="ignore", min_width=max(widest, 1)
            )
        else:
            table.add_column(column.header, overflow="fold")
    for row in materialised:
        table.add_row(*(Text(cell) for cell in row))
    console.print(table, crop=False)
    return len(materialised)


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
