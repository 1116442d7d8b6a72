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


def _local(name: str) -> str:
    """A module's name inside the `sfsync` package (`sfsync.sync.x` → `sync.x`)."""
    return name.removeprefix("sfsync.")


def project_imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) of each import of a project module in a file, TYPE_CHECKING ones too."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [_local(alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}:{node.lineno}: relative import"
            module = node.module or ""
            names = [alias.name for alias in node.names] if module == "sfsync" else [_local(module)]
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


#: The layers, lowest first: a module imports its own layer and those below it only.
LAYERS = ("config", "models", "sync", "tasks")
#: What stands above the layers; none of it is imported by a layer, and the API not by the CLI's
#: commands nor the other way round.
FRONTS = ("api", "commands", "cli", "sandbox", "bench")
#: The Celery app belongs to the tasks' layer: the tasks register on it.
LAYER_OF = {"celery_app": "tasks"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _product_modules() -> dict[str, Path]:
    files = [
        path
        for top in (*LAYERS, *FRONTS)
        for path in (ROOT / top).rglob("*.py")
        if "migrations" not in path.parts
    ] + [ROOT / "cli.py", ROOT / "celery_app.py"]
    return {_module_name(path): path for path in files if path.exists()}


def _import_time_imports(path: Path) -> Iterator[ast.Import | ast.ImportFrom]:
    """Imports that run when the module is imported (not TYPE_CHECKING, not in functions)."""
    for node in ast.parse(path.read_text(), filename=str(path)).body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If | ast.Try):
            yield from (n for n in ast.walk(node) if isinstance(n, ast.Import | ast.ImportFrom))


def import_graph() -> dict[str, set[str]]:
    """Module → the project modules it imports at import time.

    `from package import submodule` depends on the submodule, not on the package's
    `__init__` (Python imports the submodule even while the package is half-initialised).
    """
    modules = _product_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps: set[str] = set()
        for node in _import_time_imports(path):
            if isinstance(node, ast.Import):
                deps.update(_local(alias.name) for alias in node.names)
                continue
            module = _local(node.module or "")
            inner = [
                alias.name if module == "sfsync" else f"{module}.{alias.name}"
                for alias in node.names
            ]
            deps.update(m for m in inner if m in modules)
            if any(m not in modules for m in inner):
                deps.add(module)
        graph[name] = {d for d in deps if d in modules and d != name}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while (w := stack.pop()) != v:
                group.append(w)
            if group:
                found.append(sorted([v, *group]))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_circles_finds_a_circle_through_several_modules() -> None:
    """The circle finder itself: a → b → c → a is found, a chain is not."""
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_no_import_circle_in_the_product_code() -> None:
    """No module imports, at import time, one that (through others) imports it back."""
    assert circles(import_graph()) == []


def test_layers_import_only_their_own_layer_and_those_below() -> None:
    """cli / api → tasks → sync → models → config, and the API never imports the CLI's commands."""
    wrong = []
    for module, deps in import_graph().items():
        top = module.split(".")[0]
        top = LAYER_OF.get(top, top)
        for dep in deps:
            below = dep.split(".")[0]
            below = LAYER_OF.get(below, below)
            if top in LAYERS and (below in FRONTS or LAYERS.index(below) > LAYERS.index(top)):
                wrong.append(f"{module} → {dep}")
            if {top, below} == {"api", "commands"}:
                wrong.append(f"{module} → {dep}")
    assert wrong == []


def _public_names(tree: ast.Module) -> list[str]:
    names = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
    return [n for n in names if not n.startswith("_")]


def test_every_module_with_public_names_declares_them_in_all() -> None:
    """Each product module that defines public names says which are its surface (`__all__`)."""
    missing = [
        name
        for name, path in _product_modules().items()
        if name.split(".")[0] in (*LAYERS, "api", "commands")
        and _public_names(tree := ast.parse(path.read_text()))
        and "__all__"
        not in {
            t.id
            for n in tree.body
            if isinstance(n, ast.Assign)
            for t in n.targets
            if isinstance(t, ast.Name)
        }
    ]
    assert missing == []


def test_every_exception_is_drawn_in_its_modules_docstring() -> None:
    """Each public exception class of the product is named in its module's docstring, where
    the module draws its error tree."""
    import importlib
    import inspect

    undrawn = []
    for name in _product_modules():
        if name.split(".")[0] not in (*LAYERS, "api", "commands"):
            continue
        module = importlib.import_module(f"sfsync.{name}")
        for attr, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == f"sfsync.{name}"
                and not attr.startswith("_")
                and attr not in (module.__doc__ or "")
            ):
                undrawn.append(f"{name}.{attr}")
    assert undrawn == []
