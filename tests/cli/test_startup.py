"""`sfsync --version` answers without loading the application."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# What a subcommand needs and --version must not pay for.
HEAVY = (
    "sqlalchemy",
    "celery",
    "rich",
    "sfsync.models",
    "sfsync.sync",
    "sfsync.api",
    "sfsync.commands.common",
    "fastapi",
)


def test_version_imports_none_of_the_application() -> None:
    """`sfsync --version` prints the version having imported no store, Celery, rich or HTTP."""
    probe = (
        "import sys\n"
        "from sfsync import cli\n"
        "try:\n"
        "    cli.main(['--version'], prog_name='sfsync')\n"
        "except SystemExit as done:\n"
        "    assert done.code in (0, None), done.code\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    version, loaded = out.splitlines()
    assert version.startswith("sfsync, version ")
    assert loaded == "[]"
