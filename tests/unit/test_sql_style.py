"""One SQL style per need: SQL text in models/ is written in its per-dialect modules only."""

from __future__ import annotations

import ast
from pathlib import Path

MODELS = Path(__file__).resolve().parents[2] / "models"
#: The one module per dialect that may write SQL text (`models.sql`).
DIALECT_MODULES = {"sql/sqlite.py", "sql/postgresql.py"}


def text_calls(source: str) -> list[int]:
    """The lines of the calls to SQLAlchemy's `text` (as `text(...)` or `sa.text(...)`)."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Name) and node.func.id == "text")
            or (isinstance(node.func, ast.Attribute) and node.func.attr == "text")
        )
    ]


def test_text_calls_are_found_in_either_spelling() -> None:
    """The scan sees `text(...)` and `sa.text(...)`, and not a name that merely ends in text."""
    source = 'a = text("x")\nb = sa.text("y")\nc = storable_text("z")\n'
    assert text_calls(source) == [1, 2]


def test_only_the_dialect_modules_write_sql_text() -> None:
    """Outside its migrations and `models/sql/{sqlite,postgresql}.py`, models/ calls no `text(`:
    rows go through the ORM, claims through insert-or-ignore, set-based statements through
    Core."""
    calls = {
        str(path.relative_to(MODELS)): text_calls(path.read_text())
        for path in MODELS.rglob("*.py")
        if "migrations" not in path.relative_to(MODELS).parts
    }
    assert all(calls[module] for module in DIALECT_MODULES)
    assert {path: lines for path, lines in calls.items() if lines}.keys() == DIALECT_MODULES
