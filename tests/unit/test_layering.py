"""Dependencies point one way: the layers' import rules, read from the source."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: The project's own top-level packages and modules (pyproject's known-first-party, less tests).
PROJECT = frozenset(
    {"config", "models", "sync", "tasks", "commands", "api", "sandbox", "bench", "cli"}
    | {"celery_app"}
)


def project_imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) of each import of a project module in a file, TYPE_CHECKING ones too."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}:{node.lineno}: relative import"
            names = [node.module or ""]
        else:
            continue
        for name in names:
            if name.split(".")[0] in PROJECT:
                yield node.lineno, name


def _within(module: str, allowed: tuple[str, ...]) -> bool:
    return any(module == top or module.startswith(f"{top}.") for top in allowed)


def test_the_salesforce_adapter_depends_on_config_only() -> None:
    """`sync/salesforce/` imports `config` and itself, nothing else of the project."""
    package = ROOT / "sync" / "salesforce"
    modules = sorted(package.glob("*.py"))
    assert package / "client.py" in modules
    outside = [
        f"{path.relative_to(ROOT)}:{line}: {name}"
        for path in modules
        for line, name in project_imports(path)
        if not _within(name, ("config", "sync.salesforce"))
    ]
    assert outside == []


def test_the_rest_of_the_project_uses_the_adapter_through_its_package() -> None:
    """Outside `sync/salesforce/` (tests aside), imports name `sync.salesforce`, never one of
    its modules: the package's `__all__` is the adapter's surface."""
    product = [
        path
        for top in ("config", "models", "sync", "tasks", "commands", "api", "bench")
        for path in (ROOT / top).rglob("*.py")
        if (ROOT / "sync" / "salesforce") not in path.parents
    ] + [ROOT / "cli.py", ROOT / "celery_app.py"]
    inner = [
        f"{path.relative_to(ROOT)}:{line}: {name}"
        for path in product
        for line, name in project_imports(path)
        if name.startswith("sync.salesforce.")
    ]
    assert inner == []
