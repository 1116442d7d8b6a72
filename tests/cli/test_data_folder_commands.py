"""Commands say where the state lives, and say so before creating a new, empty store."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sfsync.cli import main


def run(*args: str, env: dict[str, str]) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_command_on_a_folder_without_a_store_says_it_creates_one(tmp_path: Path) -> None:
    """`customers list` in a data folder with no store says so on stderr, once."""
    env = {"SFSYNC_DATA_DIR": str(tmp_path / "elsewhere")}
    first = run("customers", "list", env=env)
    assert first.exit_code == 0, first.stderr
    [line] = [n for n in first.stderr.splitlines() if "creating a new, empty store" in n]
    assert str(tmp_path / "elsewhere") in line
    again = run("customers", "list", env=env)
    assert again.exit_code == 0 and "creating" not in again.stderr


def test_new_store_notice_points_at_the_old_default_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store left in `./.sfsync` (the old default) is pointed out, not silently ignored."""
    run("customers", "list", env={"SFSYNC_DATA_DIR": str(tmp_path / ".sfsync")})
    monkeypatch.chdir(tmp_path)
    result = run("customers", "list", env={"SFSYNC_DATA_DIR": str(tmp_path / "new")})
    assert "a store exists in" in result.stderr and str(tmp_path / ".sfsync") in result.stderr


def test_help_says_where_the_data_folder_is(tmp_path: Path) -> None:
    """`sfsync --help` names the data folder in use and how to change it."""
    result = run("--help", env={"SFSYNC_DATA_DIR": str(tmp_path / "state")})
    text = " ".join(result.stdout.split())
    assert f"data folder: {tmp_path / 'state'}" in text
    assert "SFSYNC_DATA_DIR" in text
