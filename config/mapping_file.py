"""The mapping in a file: `sfsync.toml`, read under the environment (which overrides it).

Where it is: the path in ``SFSYNC_CONFIG``; else ``sfsync.toml`` in the current folder;
else ``sfsync.toml`` in the data folder. None of them is needed: without a file the
environment and the defaults are the whole configuration.

What it holds (every section and key optional)::

    [aliases]        fields = [...], include_account_id, include_suborgs
    [contract]       start_field, end_field, term_field
    [opportunities]  filter
    [currency]       multi_currency, default
    [writeback]      field
    [[copy]]         from = "Account.Industry" | "Opportunity.X", to = "customer.k" | "contract.k"
    [products]       type_by = "charge_type" | "product_field" | "product_code", type_field,
                     [products.type_values], [products.codes], [products.metrics.CODE]

Each key is validated as it is read; an unknown key or a bad value is one line naming the
file, the line and the key (`MappingFileError`). Its names in Salesforce are checked against
the org's describe once connected (`sync.mapping_check`), which uses `MappingFile.where`
to name the line.

Errors::

    MappingFileError     the file cannot be read, is not TOML, or has an unknown key or bad
                         value (a `ValueError`; `load_settings` raises it as a ConfigError)
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from sfsync.config.mapping_schema import MappingSchema

__all__ = [
    "CONFIG_ENV",
    "FILE_NAME",
    "SETTINGS_OF",
    "MappingFile",
    "MappingFileError",
    "MappingFileSource",
    "find_mapping_file",
    "key_lines",
    "line_of",
    "load_mapping_file",
]

FILE_NAME = "sfsync.toml"
CONFIG_ENV = "SFSYNC_CONFIG"


class MappingFileError(ValueError):
    """The mapping file is unreadable or invalid; the message is one line naming where."""


#: File key → the `Settings` field it sets.
SETTINGS_OF: Mapping[str, str] = {
    "aliases.fields": "sf_alias_fields",
    "aliases.include_account_id": "alias_include_account_id",
    "aliases.include_suborgs": "alias_include_suborgs",
    "contract.start_field": "contract_start_field",
    "contract.end_field": "contract_end_field",
    "contract.term_field": "contract_term_field",
    "opportunities.filter": "sf_opportunity_filter",
    "currency.multi_currency": "sf_multi_currency",
    "currency.default": "default_currency",
    "writeback.field": "sf_writeback_field",
    "copy": "field_copies",
    "products": "products",
}


@dataclass(frozen=True)
class MappingFile:
    """A read, valid mapping file: its values and where each key is written."""

    path: Path
    values: Mapping[str, Any]
    #: dotted key (``contract.end_field``, ``copy[0].from``) → its line, 1-based.
    lines: Mapping[str, int] = field(default_factory=dict)

    def where(self, key: str) -> str:
        """``path:line: key`` for messages (the section's line if the key has none)."""
        line = line_of(key, self.lines)
        return f"{self.path}:{line}: {key}" if line else f"{self.path}: {key}"

    def settings_values(self) -> dict[str, Any]:
        """The `Settings` fields the file sets (keys it does not write are left out)."""
        out: dict[str, Any] = {}
        for key, name in SETTINGS_OF.items():
            section, _, leaf = key.partition(".")
            holder = self.values.get(section)
            if leaf:
                if isinstance(holder, Mapping) and leaf in holder:
                    out[name] = holder[leaf]
            elif holder is not None:
                out[name] = holder
        return out

    def key_of(self, setting: str) -> str | None:
        """The file key that sets `setting`, if the file writes it."""
        for key, name in SETTINGS_OF.items():
            if name == setting and key in self.lines:
                return key
        return None


class MappingFileSource(PydanticBaseSettingsSource):
    """The file's values as a settings source, below the environment (`Settings`): found
    from the arguments (`config`, `data_dir`) and the environment (SFSYNC_CONFIG,
    SFSYNC_DATA_DIR), else ./sfsync.toml, else sfsync.toml in `default_data_dir`."""

    def __init__(
        self,
        settings_cls: type[BaseSettings],
        init_kwargs: Mapping[str, Any],
        default_data_dir: Path,
    ) -> None:
        super().__init__(settings_cls)
        self._init, self._default_dir = init_kwargs, default_data_dir

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # the values come from __call__, as a whole

    def __call__(self) -> dict[str, Any]:
        explicit = self._init.get("config")
        data_dir = self._init.get("data_dir") or os.environ.get("SFSYNC_DATA_DIR") or None
        path = find_mapping_file(
            Path(explicit) if explicit else None,
            Path(data_dir) if data_dir else self._default_dir,
        )
        if path is None:
            return {}
        return {**load_mapping_file(path).settings_values(), "config": path}


def find_mapping_file(explicit: Path | None, data_dir: Path) -> Path | None:
    """The file to read: `explicit` (SFSYNC_CONFIG; it must exist), else ./sfsync.toml, else
    sfsync.toml in the data folder; None when there is none."""
    given = explicit if explicit is not None else _env_path()
    if given is not None:
        if not given.is_file():
            raise MappingFileError(f"{CONFIG_ENV}: no such file: {given}")
        return given
    for candidate in (Path(FILE_NAME), data_dir / FILE_NAME):
        if candidate.is_file():
            return candidate.resolve()
    return None


def _env_path() -> Path | None:
    value = os.environ.get(CONFIG_ENV, "").strip()
    return Path(value).expanduser() if value else None


def load_mapping_file(path: Path) -> MappingFile:
    """Read and validate the file, or raise `MappingFileError` naming the line and key."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingFileError(f"{path}: cannot read the mapping file: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        line = re.search(r"line (\d+)", message)
        where = f"{path}:{line.group(1)}" if line else str(path)
        raise MappingFileError(f"{where}: not valid TOML: {message}") from None
    lines = key_lines(text)
    try:
        parsed = MappingSchema.model_validate(data)
    except ValidationError as exc:
        raise MappingFileError(_first_problem(path, exc, lines)) from None
    values = parsed.model_dump(by_alias=True, exclude_unset=True)
    if parsed.products is not None:
        values["products"] = parsed.products
    if parsed.copy_:
        values["copy"] = list(parsed.copy_)
    return MappingFile(path, values, lines)


def _first_problem(path: Path, exc: ValidationError, lines: Mapping[str, int]) -> str:
    error = exc.errors()[0]
    parts = [p for p in error.get("loc", ()) if p != "copy_"]
    key = ""
    for part in parts:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    line = line_of(key, lines)
    where = f"{path}:{line}" if line else str(path)
    if error.get("type") == "extra_forbidden":
        return f"{where}: {key}: unknown key"
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{where}: {key or '(file)'}: {message}"


_LAST_PART = re.compile(r"(\.[^.\[]+|\[\d+\])$")


def line_of(key: str, lines: Mapping[str, int]) -> int | None:
    """The line of `key`, else of the nearest table holding it (a key set by a default)."""
    probe = key
    while probe:
        if probe in lines:
            return lines[probe]
        shorter = _LAST_PART.sub("", probe)
        if shorter == probe:
            return None
        probe = shorter
    return None


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r'^\s*("[^"]*"|[A-Za-z0-9_.-]+(?:\s*\.\s*[A-Za-z0-9_-]+)*)\s*=')


def key_lines(text: str) -> dict[str, int]:
    """Dotted key → line, for tables, arrays of tables (``copy[0].from``) and keys.

    A line scanner, not a parser: tomllib gives values without positions, and a file this
    size needs no more than headers and ``key =`` lines (multi-line strings are skipped).
    """
    lines: dict[str, int] = {}
    table = ""
    counts: dict[str, int] = {}
    in_string = False
    for number, raw in enumerate(text.splitlines(), start=1):
        if in_string:
            in_string = raw.count('"""') % 2 == 0 and raw.count("'''") % 2 == 0
            continue
        header = _HEADER.match(raw)
        if header:
            name = ".".join(p.strip().strip('"') for p in header.group(2).split("."))
            if header.group(1) == "[[":
                index = counts.get(name, 0)
                counts[name] = index + 1
                table = f"{name}[{index}]"
            else:
                table = name
            lines.setdefault(table, number)
            continue
        key = _KEY.match(raw)
        if key:
            name = ".".join(p.strip().strip('"') for p in key.group(1).split("."))
            lines.setdefault(f"{table}.{name}" if table else name, number)
            if raw.count('"""') % 2 == 1 or raw.count("'''") % 2 == 1:
                in_string = True
    return lines
