"""models/ is grouped by concern: a surface per sub-package, no module past 400 lines."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest

MODELS = Path(__file__).resolve().parents[2] / "models"
CONCERNS = ("customers", "aliases", "contracts", "usage", "operations", "reports", "tables")


def test_no_models_module_passes_400_lines() -> None:
    """Every module of models/ (migrations aside) has at most 400 lines."""
    long = {
        str(path.relative_to(MODELS)): n
        for path in MODELS.rglob("*.py")
        if "migrations" not in path.relative_to(MODELS).parts
        and (n := len(path.read_text().splitlines())) > 400
    }
    assert long == {}


@pytest.mark.parametrize("concern", CONCERNS)
def test_each_concern_is_a_package_whose_all_is_its_surface(concern: str) -> None:
    """The sub-package's `__all__` names what it defines itself, each importable from it."""
    package = importlib.import_module(f"sfsync.models.{concern}")
    assert (MODELS / concern / "__init__.py").exists()
    names = list(package.__all__)
    assert names and len(names) == len(set(names))
    outside = [
        name
        for name in names
        if (inspect.isclass(value := getattr(package, name)) or inspect.isfunction(value))
        and not value.__module__.startswith(f"sfsync.models.{concern}.")
    ]
    assert outside == []
