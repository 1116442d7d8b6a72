"""The settings reference: one row per `config.Settings` field, in declaration order."""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from docsgen.markdown import code, table
from sfsync.config.settings import ENV_PREFIX, Settings


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value: Any = field.default_factory()  # type: ignore[call-arg]
    else:
        value = field.default
    if value is None or value is PydanticUndefined:
        return "—"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, list | tuple) and not value:
        return "(none)"
    return code(str(value))


def settings_reference() -> str:
    """A Markdown table: variable, default, meaning (the field's description)."""
    rows = [
        (code(f"{ENV_PREFIX}{name.upper()}"), _default(field), field.description or "")
        for name, field in Settings.model_fields.items()
    ]
    return table(("variable", "default", "meaning"), rows)
