"""The code blocks of the README and the docs pages, and how each is to be run.

A block runs unless the line before it says otherwise:

- ``<!-- docs-test: org -->``: it needs the sandbox org (the settings `sfsync sandbox`
  prints are exported for it);
- ``<!-- docs-test: postgres -->``: it needs PostgreSQL (`SFSYNC_DATABASE_URL` is set to
  a database of the test session);
- ``<!-- docs-test: serve -->``: it needs a live `sfsync serve` (started on a free port,
  `localhost:8080` in the block pointed at it, and a `write` key in ``$KEY`` and in place
  of the placeholder ``sfsync_…``);
- ``<!-- docs-test: skip: REASON -->``: it cannot run in a test (a real org, a server that
  runs until stopped); the reason is reported.
"""

from __future__ import annotations

import enum
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHELL = frozenset({"sh", "bash", "shell", "console"})
PYTHON = frozenset({"python", "py"})
DATA = frozenset({"json", "yaml", "yml"})

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_DIRECTIVE = re.compile(r"^\s*<!-- docs-test: (?P<what>.*?) -->\s*$")


class Needs(enum.Enum):
    """What a block needs to run."""

    NOTHING = "nothing"
    ORG = "org"
    POSTGRES = "postgres"
    SERVE = "serve"
    SKIP = "skip"


class BadDirective(Exception):
    """A `docs-test` comment the runner does not understand."""


@dataclass(frozen=True)
class Block:
    """One fenced code block of a page."""

    page: str
    line: int
    lang: str
    code: str
    needs: Needs = Needs.NOTHING
    reason: str = ""

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def runnable(self) -> bool:
        return self.lang in SHELL | PYTHON and self.needs is not Needs.SKIP


def _directive(text: str, where: str) -> tuple[Needs, str]:
    what, _, reason = text.partition(":")
    try:
        needs = Needs(what.strip())
    except ValueError:
        raise BadDirective(f"{where}: unknown docs-test directive {text!r}") from None
    if needs is Needs.SKIP and not reason.strip():
        raise BadDirective(f"{where}: a skipped block must say why (docs-test: skip: REASON)")
    return needs, reason.strip()


def parse(text: str, page: str) -> list[Block]:
    """Every fenced block of `text`, in order, with the directive that precedes it."""
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        lang = (opening["info"].strip().split() or [""])[0].lower()
        end = i + 1
        while end < len(lines) and lines[end].strip() != fence:
            end += 1
        code = textwrap.dedent("\n".join(lines[i + 1 : end]).replace("\t", "    "))
        needs, reason = Needs.NOTHING, ""
        before = i - 1
        while before >= 0 and not lines[before].strip():
            before -= 1
        if before >= 0 and (match := _DIRECTIVE.match(lines[before])):
            needs, reason = _directive(match["what"], f"{page}:{i + 1}")
        blocks.append(Block(page, i + 1, lang, code + "\n", needs, reason))
        del indent
        i = end + 1
    return blocks


def pages() -> list[Path]:
    """The README and every page of the docs site."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def all_blocks() -> list[Block]:
    """Every block of every page."""
    return [
        block for path in pages() for block in parse(path.read_text(), str(path.relative_to(ROOT)))
    ]
