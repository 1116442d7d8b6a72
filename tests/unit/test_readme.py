"""The README and the settings reference stay true to the code."""

from __future__ import annotations

from pathlib import Path

from docsgen import expand, settings_reference
from sfsync.config import Settings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
SETTINGS_PAGE = ROOT / "docs" / "reference" / "settings.md"


def test_every_setting_is_in_the_settings_reference() -> None:
    """Each `Settings` field appears as `SFSYNC_<NAME>` on the docs' settings page (its
    table is generated from `Settings` when the docs are built)."""
    page = expand(SETTINGS_PAGE.read_text(), {"settings": settings_reference})
    missing = [n for n in Settings.model_fields if f"`SFSYNC_{n.upper()}`" not in page]
    assert missing == []


def test_readme_gives_the_two_commands() -> None:
    """`make demo` and `make test` are the first commands a newcomer sees."""
    first_block = README[README.index("```sh") : README.index("```", README.index("```sh") + 5)]
    assert "make demo" in first_block and "make test" in first_block


def test_readme_says_where_the_docs_are_and_how_to_build_them() -> None:
    """The README points at docs/ and gives `make docs`, which the Makefile has."""
    assert "docs/index.md" in README and "make docs" in README
    assert "\ndocs:" in (ROOT / "Makefile").read_text()
