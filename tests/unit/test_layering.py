"""Dependencies point one way: the layers' import rules, read from the source."""

from __future__ import annotations

import ast
import importlib
import inspect
import textwrap
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import NamedTuple

from sfsync.api.serve import serve
from sfsync.commands.api import SERVER

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


#: The layers, lowest first: a module imports its own layer and those below it only. The
#: Celery app sits under the tasks (they register on it) and over the streams.
LAYERS = ("config", "models", "sync", "celery_app", "tasks")
#: What stands above the layers; none of it is imported by a layer, and the API not by the CLI's
#: commands nor the other way round.
FRONTS = ("api", "commands", "cli", "sandbox", "bench")
#: The one import that runs up a layer, declared here and in docs/development/architecture.md:
#: the app routes and schedules tasks by the names `tasks.names` holds (a module that imports
#: nothing), so it never loads a task module.
ALLOWED_UPWARD = frozenset({("celery_app", "tasks.names")})


class Import(NamedTuple):
    """One import of a project module: where it is and when it runs."""

    line: int
    module: str
    #: "module" (at import time), "function" (when the function runs) or "typing"
    #: (`if TYPE_CHECKING:`, for the type checker only).
    when: str


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def product_modules(root: Path = ROOT) -> dict[str, Path]:
    """Every product module by its name inside `sfsync` (`sync.runner`), migrations aside."""
    files = [
        path
        for top in (*LAYERS, *FRONTS)
        for path in (root / top).rglob("*.py")
        if "migrations" not in path.parts
    ] + [root / "cli.py", root / "celery_app.py"]
    return {_module_name(root, path): path for path in files if path.exists()}


def _is_type_checking(node: ast.If) -> bool:
    return "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(
    tree: ast.AST, when: str = "module"
) -> Iterator[tuple[ast.Import | ast.ImportFrom, str]]:
    """Every import statement under `tree`, each with when it runs."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, when
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield from _imports(node, "typing" if when == "typing" else "function")
        elif isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.body:
                yield from _imports(ast.Module(body=[child], type_ignores=[]), "typing")
            for child in node.orelse:
                yield from _imports(ast.Module(body=[child], type_ignores=[]), when)
        else:
            yield from _imports(node, when)


def imports_of(path: Path, modules: Collection[str]) -> list[Import]:
    """The project modules a file imports: at import time, in functions and for typing.

    `from package import submodule` depends on the submodule, not on the package's
    `__init__` (Python imports the submodule even while the package is half-initialised).
    """
    found: list[Import] = []
    for node, when in _imports(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [_local(alias.name) for alias in node.names]
        else:
            assert node.level == 0, f"{path}:{node.lineno}: relative import"
            module = _local(node.module or "")
            inner = [
                alias.name if module == "sfsync" else f"{module}.{alias.name}"
                for alias in node.names
            ]
            targets = [m for m in inner if m in modules]
            if any(m not in modules for m in inner):
                targets.append(module)
        found += [Import(node.lineno, t, when) for t in targets if t in modules]
    return found


def import_graph(
    root: Path = ROOT, when: Collection[str] = ("module", "function", "typing")
) -> dict[str, set[str]]:
    """Module → the project modules it imports (by default every import, wherever it is)."""
    modules = product_modules(root)
    return {
        name: {i.module for i in imports_of(path, modules) if i.when in when} - {name}
        for name, path in modules.items()
    }


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


def _layer(module: str) -> str:
    return module.split(".", maxsplit=1)[0]


def upward_imports(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    """(module, dependency) of each import from a layer into a higher layer or a front, and
    between the API and the CLI's commands."""
    wrong = set()
    for module, deps in graph.items():
        top = _layer(module)
        for dep in deps:
            below = _layer(dep)
            if top in LAYERS and (below in FRONTS or LAYERS.index(below) > LAYERS.index(top)):
                wrong.add((module, dep))
            if {top, below} == {"api", "commands"}:
                wrong.add((module, dep))
    return wrong


def test_circles_finds_a_circle_through_several_modules() -> None:
    """The circle finder itself: a → b → c → a is found, a chain is not."""
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_no_import_circle_in_the_product_code() -> None:
    """No module imports, in any way (at import time, in a function, for typing), one that
    (through others) imports it back."""
    assert circles(import_graph()) == []


def test_the_sandbox_org_and_its_control_surface_do_not_import_each_other() -> None:
    """`sandbox/control.py` steers the org through a protocol, so it imports no `sandbox.org`."""
    graph = import_graph()
    assert "sandbox.control" in graph["sandbox.org"]
    assert "sandbox.org" not in graph["sandbox.control"]


def test_layers_import_only_their_own_layer_and_those_below() -> None:
    """cli / api → tasks → sync → models → config, and the API never imports the CLI's
    commands, counting function-level and TYPE_CHECKING imports; `celery_app → tasks.names` is
    the one declared exception, and it is there."""
    assert upward_imports(import_graph()) == ALLOWED_UPWARD


def test_celery_app_imports_config_the_stream_registry_and_the_task_names_only() -> None:
    """The Celery app's project imports are exactly `config`, the stream registry (beat
    schedules each registered stream) and `tasks.names`."""
    assert import_graph()["celery_app"] == {"config", "sync.streams.registry", "tasks.names"}


def test_the_cli_commands_do_not_import_the_http_api() -> None:
    """`commands/` (serve included) reaches the HTTP application by an import string only,
    and that string names the server's entry point."""
    assert {
        (module, dep)
        for module, deps in import_graph().items()
        for dep in deps
        if _layer(module) == "commands" and _layer(dep) == "api"
    } == set()
    module, _, name = SERVER.partition(":")
    assert getattr(importlib.import_module(module), name) is serve


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text))
    return root


LOW_TREE = {
    "config/__init__.py": "",
    "models/__init__.py": "",
    "sync/__init__.py": "",
    "sync/runner.py": "from sfsync.models import store\n",
    "models/store.py": "from sfsync.config import settings\n",
    "config/settings.py": "",
}


def test_a_function_level_import_up_a_layer_is_caught(tmp_path: Path) -> None:
    """Test of the test: `models` importing `sync` inside a function is an upward import."""
    root = _tree(
        tmp_path,
        LOW_TREE
        | {
            "models/store.py": """\
                from sfsync.config import settings

                def latest():
                    from sfsync.sync.runner import run
                    return run
                """
        },
    )
    graph = import_graph(root)
    assert upward_imports(graph) == {("models.store", "sync.runner")}
    assert circles(graph) == [["models.store", "sync.runner"]]
    assert upward_imports(import_graph(root, when=("module",))) == set()


def test_a_type_checking_import_up_a_layer_is_caught(tmp_path: Path) -> None:
    """Test of the test: `config` importing `models` under `if TYPE_CHECKING:` (and a
    function inside it) is an upward import too."""
    root = _tree(
        tmp_path,
        LOW_TREE
        | {
            "config/settings.py": """\
                from typing import TYPE_CHECKING

                if TYPE_CHECKING:
                    from sfsync.models import store
                """,
            "models/store.py": """\
                import typing

                if typing.TYPE_CHECKING:
                    def hint():
                        import sfsync.sync.runner
                """,
        },
    )
    assert upward_imports(import_graph(root)) == {
        ("config.settings", "models.store"),
        ("models.store", "sync.runner"),
    }
    assert {i.when for i in imports_of(root / "config/settings.py", product_modules(root))} == {
        "typing"
    }


def test_a_clean_tree_has_no_upward_import(tmp_path: Path) -> None:
    """Test of the test: imports that point down are not reported."""
    assert upward_imports(import_graph(_tree(tmp_path, LOW_TREE))) == set()


def test_no_test_module_imports_another_test_module() -> None:
    """Tests share helpers through fixtures and helper modules, never `tests.x.test_y`."""
    tests = ROOT / "tests"
    found = []
    for path in sorted(tests.rglob("*.py")):
        for node, _ in _imports(ast.parse(path.read_text(), filename=str(path))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
            )
            if any(n.startswith("tests.") and n.split(".")[-1].startswith("test_") for n in names):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []


#: The packages whose modules declare `__all__` and draw their error trees.
SURFACED = ("config", "models", "sync", "tasks", "api", "commands")


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
        for name, path in product_modules().items()
        if name.split(".")[0] in SURFACED
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
    undrawn = []
    for name in product_modules():
        if name.split(".")[0] not in SURFACED:
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
