"""The README stays true to the code."""

from __future__ import annotations

from pathlib import Path

from config import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_setting_is_in_the_readme_settings_table() -> None:
    """Each `Settings` field appears as `SFSYNC_<NAME>` in the README's settings table."""
    table = README[README.index("## Settings") :]
    missing = [n for n in Settings.model_fields if f"`SFSYNC_{n.upper()}`" not in table]
    assert missing == []


def test_readme_gives_the_two_commands() -> None:
    """`make demo` and `make test` are the first commands a newcomer sees."""
    first_block = README[README.index("```sh") : README.index("```", README.index("```sh") + 5)]
    assert "make demo" in first_block and "make test" in first_block
