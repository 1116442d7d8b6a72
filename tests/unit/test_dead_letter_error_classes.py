"""Every dead letter's `error_class` names an exception class that exists in the product."""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("config", "models", "sync", "tasks", "api", "commands")
#: Where letters are written (the store only stores what it is given).
WRITERS = ("sync", "tasks", "api", "commands")


def _modules(tops: tuple[str, ...] = PRODUCT) -> Iterator[tuple[str, ast.Module]]:
    for top in tops:
        for path in sorted((ROOT / top).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            yield name, ast.parse(path.read_text(), filename=str(path))


def _exception_names() -> set[str]:
    """The names of the product's exception classes, and Python's own."""
    names = {n for n, v in vars(builtins).items() if inspect.isclass(v)}
    for module, _ in _modules():
        for value in vars(importlib.import_module(f"sfsync.{module}")).values():
            if inspect.isclass(value) and issubclass(value, BaseException):
                names.add(value.__name__)
    return names


def _written(tree: ast.Module) -> Iterator[tuple[int, ast.expr]]:
    """(line, value) of every `error_class=` keyword passed in the module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg == "error_class":
                    yield node.lineno, keyword.value


def _assigned(tree: ast.Module, name: str) -> ast.expr | None:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return node.value
    return None


def _names_a_class(value: ast.expr | None, tree: ast.Module, known: set[str]) -> bool:
    """`type(exc).__name__`, `SomeError.__name__`, or a module constant holding one."""
    if isinstance(value, ast.Attribute) and value.attr == "__name__":
        target = value.value
        if isinstance(target, ast.Call) and ast.unparse(target.func) == "type":
            return True
        return (
            isinstance(target, ast.Name | ast.Attribute)
            and ast.unparse(target).split(".")[-1] in known
        )
    if isinstance(value, ast.Name):
        return _names_a_class(_assigned(tree, value.id), tree, known)
    return False


def test_every_written_error_class_names_an_exception_class() -> None:
    """No letter's error class is a bare string: each is an existing exception's name."""
    known = _exception_names()
    wrong = [
        f"{module}:{line}: {ast.unparse(value)}"
        for module, tree in _modules(WRITERS)
        for line, value in _written(tree)
        if not _names_a_class(value, tree, known)
    ]
    assert wrong == []


def test_the_checker_refuses_a_bare_string() -> None:
    """A string literal, even one that happens to be an exception's name, is refused."""
    tree = ast.parse('Failure(error_class="OpportunityNotFound")\nERR = "X"\nf(error_class=ERR)')
    values = [value for _, value in _written(tree)]
    assert [_names_a_class(v, tree, {"OpportunityNotFound"}) for v in values] == [False, False]
    good = ast.parse("f(error_class=type(exc).__name__)\nE = Boom.__name__\ng(error_class=E)")
    assert [_names_a_class(v, good, {"Boom"}) for _, v in _written(good)] == [True, True]
