"""Marker lines in a page, replaced by the generated reference they name."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

#: A line of its own: ``<!-- generated: NAME -->``.
MARKER = re.compile(r"^<!-- generated: ([a-z-]+) -->$", re.MULTILINE)


class UnknownMarker(Exception):
    """A page asks for a generated part that does not exist."""


def expand(markdown: str, generators: Mapping[str, Callable[[], str]]) -> str:
    """`markdown` with each marker line replaced by its generator's output."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in generators:
            raise UnknownMarker(f"unknown generated part {name!r} (known: {sorted(generators)})")
        return generators[name]()

    return MARKER.sub(replace, markdown)
