"""The demo package's modules import one another in one direction: no circle, lazy or not.

The graph is read from the source (every `import`, including those inside functions, which
the command uses to load the sandbox only when the demo runs), so a circle hidden behind a
function-level import is caught too; each module must also import alone in a fresh
interpreter.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

PACKAGE = "sfsync.commands.demo"
FOLDER = Path(__file__).resolve().parents[2] / "commands" / "demo"
MODULES = sorted(
    PACKAGE if path.stem == "__init__" else f"{PACKAGE}.{path.stem}" for path in FOLDER.glob("*.py")
)


def imported(module: str) -> set[str]:
    """The modules of the demo package that `module` imports, anywhere in its source."""
    path = FOLDER / ("__init__.py" if module == PACKAGE else f"{module.rsplit('.', 1)[1]}.py")
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            # `from commands.demo import flows` needs the module `flows`, not the package's
            # `__init__` (Python loads a parent package first, which is no circle).
            submodules = {f"{node.module}.{alias.name}" for alias in node.names} & set(MODULES)
            found.update(submodules or {node.module})
    return {name for name in found if name in MODULES and name != module}


def test_the_demo_modules_import_each_other_without_a_circle() -> None:
    graph = {module: imported(module) for module in MODULES}
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        pytest.fail(f"import circle in the demo package: {exc.args[1]}")
    # The shared runtime comes first: it needs nothing else of the demo.
    assert graph[f"{PACKAGE}.runtime"] == set()
    assert order[0] in {f"{PACKAGE}.runtime", f"{PACKAGE}.org"}


@pytest.mark.parametrize("module", MODULES)
def test_each_demo_module_imports_alone(module: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        cwd=FOLDER.parents[1],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
