"""An installed sfsync is one importable name: it runs from a folder full of look-alike modules.

The package is built and installed (not editable) into a fresh virtual environment whose
dependencies come from this one (a `.pth` file), so the test needs no network and no index.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: Modules a user's project may well have; each refuses to be imported.
LOOK_ALIKES = ("config", "models", "tasks", "api")


def _source_tree(into: Path) -> Path:
    """The files the build reads: pyproject, README, `sfsync/` and the folders it links."""
    into.mkdir()
    shutil.copy(ROOT / "pyproject.toml", into)
    shutil.copy(ROOT / "README.md", into)
    shutil.copytree(ROOT / "sfsync", into / "sfsync", symlinks=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for link in (ROOT / "sfsync").iterdir():
        if not link.is_symlink():
            continue
        target = link.resolve()
        if target.is_dir():
            shutil.copytree(target, into / target.name, ignore=ignore)
        else:
            shutil.copy(target, into / target.name)
    return into


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv holding a pip-installed (built, not editable) sfsync; yields its bin/."""
    base = tmp_path_factory.mktemp("install")
    source = _source_tree(base / "source")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    # The dependencies (and setuptools for the build) come from the venv running the tests.
    (site / "_sfsync_test_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    done = subprocess.run(
        [
            python,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    yield venv / "bin"


@pytest.fixture
def look_alike_folder(tmp_path: Path) -> Path:
    """A folder holding config.py, models.py, tasks.py and api.py that raise on import."""
    for name in LOOK_ALIKES:
        (tmp_path / f"{name}.py").write_text(
            f"raise ImportError('the user\\'s own {name}.py was imported')\n"
        )
    return tmp_path


def _env(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SFSYNC_", "PYTHON"))}
    env["SFSYNC_DATA_DIR"] = str(folder / "data")
    # As `python -m` and console scripts do, the current folder is first on the path.
    env["PYTHONPATH"] = str(folder)
    return env


def _site_packages(bin_dir: Path) -> Path:
    found = list((bin_dir.parent / "lib").glob("python3*/site-packages"))
    assert len(found) == 1, found
    return found[0]


def test_sfsync_version_runs_from_a_folder_of_look_alike_modules(
    installed: Path, look_alike_folder: Path
) -> None:
    """`sfsync --version` answers, importing none of the folder's config/models/tasks/api."""
    done = subprocess.run(
        [installed / "sfsync", "--version"],
        cwd=look_alike_folder,
        env=_env(look_alike_folder),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("sfsync, version ")


def test_celery_report_runs_from_a_folder_of_look_alike_modules(
    installed: Path, look_alike_folder: Path
) -> None:
    """`python -m celery -A sfsync.celery_app report` loads the app (settings, tasks' names)
    from the installed package, not from the folder's look-alikes."""
    done = subprocess.run(
        [installed / "python", "-m", "celery", "-A", "sfsync.celery_app", "report"],
        cwd=look_alike_folder,
        env=_env(look_alike_folder),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "software -> celery:" in done.stdout
    assert "ImportError" not in done.stdout + done.stderr


def test_the_installed_distribution_adds_only_the_sfsync_name(installed: Path) -> None:
    """The wheel's files sit under `sfsync/` (and its dist-info): no top-level config, models,
    tasks, api, sync, commands, sandbox, bench, cli or celery_app."""
    site = _site_packages(installed)
    (record,) = site.glob("sfsync-*.dist-info/RECORD")
    tops = {
        line.split(",")[0].split("/")[0]
        for line in record.read_text().splitlines()
        if not line.startswith("..")  # the console script, in bin/
    }
    assert tops == {"sfsync", record.parent.name}


def test_setuptools_follows_the_links_into_the_package(installed: Path) -> None:
    """`sfsync/` holds links; the installed package holds real folders and files, package data
    (migrations, console templates) included."""
    package = _site_packages(installed) / "sfsync"
    for name in ("config", "models", "sync", "tasks", "api", "commands", "sandbox", "bench"):
        assert (package / name).is_dir() and not (package / name).is_symlink(), name
        assert (package / name / "__init__.py").is_file(), name
    assert (package / "cli.py").is_file() and not (package / "cli.py").is_symlink()
    assert (package / "celery_app.py").is_file()
    assert list((package / "models" / "migrations" / "versions").glob("0001_*.py"))
    assert list((package / "api" / "console" / "templates").glob("*.html"))
