"""The HTTP API reference: every operation of the application's OpenAPI document."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from docsgen.markdown import code, table
from sfsync.api.app import create_app
from sfsync.config import Settings

_METHODS = ("get", "post", "put", "patch", "delete")


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of `sfsync serve`'s application, built on a throwaway data folder
    (nothing is served, migrated or connected)."""
    with tempfile.TemporaryDirectory(prefix="sfsync-docs-") as folder:
        settings = Settings(_env_file=None, data_dir=Path(folder))
        app = create_app(settings)
        document = app.openapi()
        app.state.sfsync.store.close()
    return document


def _schema_name(body: dict[str, Any]) -> str:
    for media in body.get("content", {}).values():
        schema = media.get("schema", {})
        ref = schema.get("$ref") or schema.get("items", {}).get("$ref", "")
        name = str(ref).rsplit("/", 1)[-1]
        if name:
            return f"[{name}]" if "items" in schema else name
    return ""


def _operation(method: str, path: str, op: dict[str, Any], level: int) -> str:
    parts = [
        f"{'#' * level} {method.upper()} {path}",
        str(op.get("description") or op.get("summary", "")),
    ]
    parameters = [
        (
            code(p["name"]),
            p["in"],
            "yes" if p.get("required") else "no",
            str(p.get("description", "")),
        )
        for p in op.get("parameters", [])
    ]
    if parameters:
        parts.append(table(("parameter", "in", "required", "meaning"), parameters))
    body = op.get("requestBody")
    if body:
        parts.append(f"Request body: {code(_schema_name(body) or 'JSON')}.")
    responses = [
        (code(status), str(r.get("description", ""))) for status, r in op["responses"].items()
    ]
    parts.append(table(("status", "meaning"), responses))
    return "\n\n".join(part.strip() for part in parts if part.strip())


def openapi_reference(document: dict[str, Any], top: int = 2) -> str:
    """Markdown for every operation, grouped by tag in the document's order (tags at heading
    level `top`, operations one below)."""
    groups: dict[str, list[str]] = {}
    for path, operations in document.get("paths", {}).items():
        for method in _METHODS:
            op = operations.get(method)
            if op is not None:
                tag = (op.get("tags") or ["other"])[0]
                groups.setdefault(tag, []).append(_operation(method, path, op, top + 1))
    return "\n\n".join(
        f"{'#' * top} {tag[:1].upper()}{tag[1:]}\n\n" + "\n\n".join(ops)
        for tag, ops in groups.items()
    )
