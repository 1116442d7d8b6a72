"""The data folder: the platform's user data folder by default, whatever the current folder."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from sfsync.celery_app import create_app
from sfsync.config import Settings
from sfsync.config.data_folder import data_folder
from sfsync.config.settings import default_data_dir

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def user_data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The platform's user data folder pointed at a temporary one (XDG on Linux)."""
    home = tmp_path / "xdg-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    return home


def test_default_data_folder_is_the_user_data_folder(user_data_home: Path) -> None:
    """With no SFSYNC_DATA_DIR the data folder is `<user data folder>/sfsync`, absolute."""
    settings = Settings(_env_file=None)
    assert settings.data_dir == user_data_home / "sfsync" == default_data_dir()
    assert settings.data_dir.is_absolute()


def test_state_does_not_depend_on_the_current_folder(
    user_data_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store and beat's schedule are the same files from any current folder."""
    seen = set()
    for folder in (tmp_path / "one", tmp_path / "two"):
        folder.mkdir()
        monkeypatch.chdir(folder)
        settings = Settings(_env_file=None)
        celery = create_app(settings)
        seen.add((settings.store_url, celery.conf.beat_schedule_filename))
    [(store_url, schedule)] = seen
    assert store_url == f"sqlite:///{user_data_home / 'sfsync' / 'sfsync.db'}"
    assert schedule == str(user_data_home / "sfsync" / "celerybeat-schedule")


def test_data_folder_says_what_chose_it(user_data_home: Path, tmp_path: Path) -> None:
    """`data_folder` (for `--help` and `sfsync check`) names the folder, its origin and store."""
    default = data_folder(Settings(_env_file=None))
    assert (default.path, default.chosen_by, default.store_exists) == (
        user_data_home / "sfsync",
        "default",
        False,
    )
    chosen = data_folder(Settings(_env_file=None, data_dir=tmp_path))
    assert chosen.path == tmp_path and "SFSYNC_DATA_DIR" in chosen.chosen_by
    assert str(tmp_path) in chosen.line()


def test_make_clean_leaves_user_state_alone() -> None:
    """`make clean` removes caches, never a data folder (`.sfsync` or the user data folder)."""
    recipe = subprocess.run(
        ["make", "-n", "clean"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "rm -rf" in recipe
    assert ".sfsync" not in recipe and "sfsync.db" not in recipe and "share" not in recipe
