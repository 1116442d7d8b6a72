"""Each rule, limit, pattern and type of the product is defined once, where its layer owns it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ["sync", "models", "tasks", "commands", "api", "config"]


def _sources() -> dict[str, str]:
    files = [p for d in PRODUCT for p in (ROOT / d).rglob("*.py") if "migrations" not in p.parts]
    files += [ROOT / "celery_app.py", ROOT / "cli.py"]
    return {str(p.relative_to(ROOT)): p.read_text() for p in files}


def _class_definitions(name: str) -> list[str]:
    return [
        path
        for path, text in _sources().items()
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.ClassDef) and node.name == name
    ]


def test_the_contract_is_one_type_defined_by_the_store() -> None:
    """`ContractTerms` is defined once, in models/; the older copies are gone."""
    assert _class_definitions("ContractTerms") == ["models/contracts/terms.py"]
    assert _class_definitions("ContractSpec") == []
    assert _class_definitions("ContractRow") == ["models/contracts/terms.py"]


def test_the_currency_pattern_is_written_once() -> None:
    """The three-letter currency code pattern appears in config/values.py only."""
    holders = [p for p, text in _sources().items() if "[A-Z]{3}" in text]
    assert holders == ["config/values.py"]


def test_the_store_limits_are_defined_once_in_models_tables() -> None:
    """Every MAX_ limit of names, aliases and field values is assigned in models/tables/base.py
    only, and no table's CHECK repeats one as a number."""
    limits = {
        "MAX_NAME",
        "MAX_ALIAS",
        "MAX_ALIASES_PER_CUSTOMER",
        "MAX_FIELD_VALUE",
        "MAX_EVENT_KEY",
    }
    assigned: dict[str, list[str]] = {}
    for path, text in _sources().items():
        for node in ast.parse(text).body:
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name) and target.id in limits:
                        assigned.setdefault(target.id, []).append(path)
    assert assigned == {name: ["models/tables/base.py"] for name in limits}
    tables = [text for path, text in _sources().items() if path.startswith("models/tables/")]
    assert len(tables) > 1
    check_constraints = [
        found
        for text in tables
        for found in re.findall(r"CheckConstraint\(\s*\"[^\"]*\b(160|128|200)\b", text)
    ]
    assert check_constraints == []


def test_pure_mapping_soql_and_validation_take_rules_not_settings() -> None:
    """Pure modules take Settings only in the rules' `of` constructors and their helpers."""
    pure = ["sync/mapping.py", "sync/salesforce/soql.py", "sync/usage/validation.py"]
    takers = []
    for path in pure:
        for node in ast.walk(ast.parse(_sources()[path])):
            if (
                isinstance(node, ast.FunctionDef)
                and node.name != "of"
                and not node.name.startswith("_")
            ):
                for arg in [*node.args.args, *node.args.kwonlyargs]:
                    if arg.annotation is not None and "Settings" in ast.unparse(arg.annotation):
                        takers.append(f"{path}:{node.name}")
    assert takers == []


def _exported_not_defined(text: str) -> set[str]:
    tree = ast.parse(text)
    defined: set[str] = set()
    exported: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            defined.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = {t.id for t in targets if isinstance(t, ast.Name)}
            defined |= names
            if "__all__" in names and isinstance(node.value, ast.List | ast.Tuple):
                exported = [
                    e.value
                    for e in node.value.elts
                    if isinstance(e, ast.Constant) and isinstance(e.value, str)
                ]
    return set(exported) - defined


def test_a_module_exports_only_the_names_it_defines() -> None:
    """No compatibility re-exports: each name is imported from the module that defines it
    (package surfaces, `__init__.py`, are the exception)."""
    found = {
        path: names
        for path, text in _sources().items()
        if not path.endswith("__init__.py") and (names := _exported_not_defined(text))
    }
    assert found == {}
