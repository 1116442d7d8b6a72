"""MkDocs hook (mkdocs.yml `hooks:`): expands the generated-reference markers in each page."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

# MkDocs loads this file by path; the generators are imported from the project root.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from docsgen import (
    cli_reference,
    expand,
    openapi_document,
    openapi_reference,
    settings_reference,
)
from sfsync.cli import main


@cache
def _cli() -> str:
    return cli_reference(main, top=3)


@cache
def _openapi() -> str:
    return openapi_reference(openapi_document(), top=3)


GENERATORS: dict[str, Callable[[], str]] = {
    "settings": settings_reference,
    "cli": _cli,
    "openapi": _openapi,
}


def on_page_markdown(markdown: str, **_: Any) -> str:
    """Replace each ``<!-- generated: NAME -->`` line with that reference."""
    return expand(markdown, GENERATORS)
