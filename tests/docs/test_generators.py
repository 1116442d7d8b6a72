"""The generated reference pages list everything the code defines, and nothing it does not."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import click
import pytest

from docsgen import (
    UnknownMarker,
    cli_reference,
    expand,
    openapi_document,
    openapi_reference,
    settings_reference,
)
from sfsync.api.app import create_app
from sfsync.cli import main
from sfsync.config import Settings
from tests.docs.blocks import ROOT


def _visible_commands(command: click.Command, path: str) -> list[tuple[str, click.Command]]:
    found = [(path, command)]
    if isinstance(command, click.Group):
        # Through list_commands/get_command: the top group imports its commands lazily.
        ctx = click.Context(command, info_name=path)
        for name in sorted(command.list_commands(ctx)):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                found += _visible_commands(sub, f"{path} {name}")
    return found


def test_every_setting_is_in_the_settings_reference_with_its_description() -> None:
    """Each `Settings` field is a row: `SFSYNC_<NAME>`, then its description."""
    text = settings_reference()
    rows = {line.split("|")[1].strip(): line for line in text.splitlines()[2:]}
    assert sorted(rows) == sorted(f"`SFSYNC_{name.upper()}`" for name in Settings.model_fields)
    for name, field in Settings.model_fields.items():
        assert " ".join((field.description or "").split()) in rows[f"`SFSYNC_{name.upper()}`"]


def test_every_setting_has_a_description() -> None:
    """A setting without a `description` would have an empty meaning on the settings page."""
    assert [n for n, f in Settings.model_fields.items() if not (f.description or "").strip()] == []


def test_the_settings_reference_shows_defaults_as_a_reader_sets_them() -> None:
    """Unset is a dash, flags are on/off, an empty list is (none), enums show their value."""
    rows = {
        line.split("|")[1].strip(): line.split("|")[2].strip()
        for line in settings_reference().splitlines()[2:]
    }
    assert rows["`SFSYNC_DATABASE_URL`"] == "—"
    assert rows["`SFSYNC_ALIAS_INCLUDE_ACCOUNT_ID`"] == "on"
    assert rows["`SFSYNC_SF_ALIAS_FIELDS`"] == "(none)"
    assert rows["`SFSYNC_LOG_FORMAT`"] == "`text`"
    assert rows["`SFSYNC_POLL_INTERVAL`"] == "`300`"


def test_every_command_and_option_is_in_the_cli_reference() -> None:
    """Each visible command has a heading with its full command line, and each of its
    options is named in its section."""
    text = cli_reference(main)
    sections = dict(
        (m.group(1), m.group(2))
        for m in re.finditer(r"^#+ (sfsync[^\n]*)\n(.*?)(?=^#+ sfsync|\Z)", text, re.S | re.M)
    )
    commands = _visible_commands(main, "sfsync")
    assert sorted(sections) == sorted(path for path, _ in commands)
    for path, command in commands:
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                assert all(opt in sections[path] for opt in param.opts), (path, param.opts)


def test_the_cli_reference_keeps_each_commands_examples() -> None:
    """A command's `--help` examples appear as written under its heading."""
    text = cli_reference(main)
    sync_section = text[text.index("### sfsync sync\n") :]
    assert "#### sfsync sync run\n" in sync_section
    assert "$ sfsync sync run --inline" in sync_section


def test_every_operation_is_in_the_http_api_reference(settings: Settings) -> None:
    """Each path and method of the served application's OpenAPI document has a heading."""
    settings.ensure_data_dir()
    app = create_app(settings)
    document: dict[str, Any] = app.openapi()
    app.state.sfsync.store.close()
    text = openapi_reference(openapi_document())
    headings = set(re.findall(r"^### ([A-Z]+ /\S*)$", text, re.M))
    expected = {
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method in operations
    }
    assert headings == expected
    assert "POST /v1/ingest" in headings


def test_the_references_nest_under_the_heading_level_asked_for() -> None:
    """The hook puts the generated headings below the page's own (`top`)."""
    assert cli_reference(main, top=3).startswith("### sfsync\n")
    assert "\n#### sfsync customers\n" in cli_reference(main, top=3)
    text = openapi_reference(openapi_document(), top=3)
    assert text.startswith("### Health\n") and "\n#### GET /healthz\n" in text


def test_a_marker_is_replaced_by_its_generated_part() -> None:
    """`<!-- generated: NAME -->` on a line of its own becomes that generator's output."""
    page = "# Title\n\n<!-- generated: thing -->\n\nafter\n"
    assert expand(page, {"thing": lambda: "| a |"}) == "# Title\n\n| a |\n\nafter\n"


def test_an_unknown_marker_stops_the_build() -> None:
    """A page asking for a part that does not exist fails loudly, naming it."""
    with pytest.raises(UnknownMarker, match="'nothing'"):
        expand("<!-- generated: nothing -->\n", {"settings": settings_reference})


@pytest.mark.parametrize(
    ("page", "marker"),
    [
        ("reference/settings.md", "settings"),
        ("reference/cli.md", "cli"),
        ("reference/http-api.md", "openapi"),
    ],
)
def test_the_reference_pages_ask_for_their_generated_parts(page: str, marker: str) -> None:
    """The reference pages hold the markers the docs build replaces."""
    assert f"<!-- generated: {marker} -->\n" in (ROOT / "docs" / page).read_text()


def test_the_hook_knows_every_marker_the_pages_use() -> None:
    """Every marker in docs/ names a generator of the MkDocs hook."""
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docsgen" / "hooks.py")
    assert spec is not None and spec.loader is not None
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    used = {
        name
        for path in Path(ROOT / "docs").rglob("*.md")
        for name in re.findall(r"^<!-- generated: ([a-z-]+) -->$", path.read_text(), re.M)
    }
    assert used and used <= set(hooks.GENERATORS)
