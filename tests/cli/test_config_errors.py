"""Configuration and connection errors: one line naming the setting and why, exit 2."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sfsync.cli import main
from tests.conftest import POSTGRES_BASE, need, postgres_available


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def assert_one_line(result: Result, *needles: str) -> None:
    """Exit 2, one line on stderr containing every needle, and no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unknown_database_scheme_names_the_setting(tmp_path: Path) -> None:
    """`SFSYNC_DATABASE_URL=nosuchdb://x` is one line naming the variable, exit 2."""
    result = run(
        "customers",
        "list",
        env={"SFSYNC_DATABASE_URL": "nosuchdb://x", "SFSYNC_DATA_DIR": str(tmp_path)},
    )
    assert_one_line(result, "SFSYNC_DATABASE_URL", "unknown database 'nosuchdb'")


def test_unparsable_database_url_names_the_setting(tmp_path: Path) -> None:
    """A URL SQLAlchemy cannot parse is one line naming the variable, exit 2."""
    result = run(
        "--data-dir", str(tmp_path), "--database-url", "::not a url::", "customers", "list"
    )
    assert_one_line(result, "SFSYNC_DATABASE_URL", "not a database URL")


def test_db_upgrade_on_a_missing_postgres_database_says_why() -> None:
    """`db upgrade` against a database that does not exist says so in one line."""
    need(postgres_available(), "PostgreSQL on 127.0.0.1:5432")
    base, _, _ = POSTGRES_BASE.rpartition("/")
    url = f"{base}/sfsync_no_such_database_x1"
    result = run("--database-url", url, "db", "upgrade")
    assert_one_line(result, "--database-url", "cannot reach the store", "does not exist")


def test_unreachable_postgres_says_why_without_the_password() -> None:
    """A server that refuses connections: one line with the reason, the password masked."""
    url = f"postgresql://u:hunter2secret@127.0.0.1:{_closed_port()}/sfsync"
    result = run("--database-url", url, "customers", "list")
    assert_one_line(result, "cannot reach the store", "refused")
    assert "hunter2secret" not in result.stderr


def test_data_dir_that_cannot_be_created_names_the_setting(tmp_path: Path) -> None:
    """`--data-dir` under a regular file cannot be created: one line, exit 2."""
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = run("--data-dir", str(blocker / "data"), "customers", "list")
    assert_one_line(result, "--data-dir", "cannot create")


def test_sqlite_url_into_a_missing_folder_is_an_error_not_a_new_store(tmp_path: Path) -> None:
    """A SQLite file in a folder that does not exist is refused; nothing is created."""
    missing = tmp_path / "typo" / "store.db"
    result = run(
        "--data-dir",
        str(tmp_path / "d"),
        "--database-url",
        f"sqlite:///{missing}",
        "customers",
        "list",
    )
    assert_one_line(result, "--database-url", "does not exist")
    assert not missing.parent.exists()


def test_default_data_folder_is_created(tmp_path: Path) -> None:
    """The default store's folder belongs to sfsync and is created on first use."""
    result = run("--data-dir", str(tmp_path / "new" / "data"), "customers", "list")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "new" / "data" / "sfsync.db").exists()


@pytest.mark.parametrize(
    "args",
    [("sync", "run"), ("dlq", "retry", "--all")],
    ids=["sync-run", "dlq-retry"],
)
def test_unreachable_redis_fails_fast_in_one_line(tmp_path: Path, args: tuple[str, ...]) -> None:
    """Enqueueing with Redis down: one line naming SFSYNC_BROKER_URL, within seconds."""
    env = {
        "SFSYNC_BROKER_URL": f"redis://:brokerpw99@127.0.0.1:{_closed_port()}/0",
        "SFSYNC_DATA_DIR": str(tmp_path / "data"),
    }
    # An existing store: the only line is the broker's (a new one would be said first).
    assert run("db", "upgrade", env=env).exit_code == 0
    started = time.monotonic()
    result = run(*args, env=env)
    assert time.monotonic() - started < 15
    assert_one_line(result, "SFSYNC_BROKER_URL", "cannot reach the broker")
    assert "brokerpw99" not in result.stderr


def test_unknown_broker_scheme_names_the_setting(tmp_path: Path) -> None:
    """An unknown broker transport is one line naming the variable, not a KeyError."""
    env = {"SFSYNC_BROKER_URL": "nosuchmq://h/0", "SFSYNC_DATA_DIR": str(tmp_path / "data")}
    result = run("sync", "run", env=env)
    assert_one_line(result, "SFSYNC_BROKER_URL", "nosuchmq")
