"""The settings `sfsync sandbox --single-currency` prints sync without a currency setting."""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from sfsync.cli import main


def test_the_printed_settings_of_a_single_currency_sandbox_sync(store_url: str, tmp_path: Path):
    """`sync run --inline` with exactly the printed exports succeeds; contracts in GBP."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from sandbox.cli import sandbox_command; sandbox_command()",
            "--opportunities",
            "40",
            "--seed",
            "4",
            "--single-currency",
            "--currency",
            "GBP",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        exports = {}
        for _ in range(5):
            name, value = proc.stdout.readline().removeprefix("export ").strip().split("=", 1)
            exports[name] = shlex.split(value)[0]
        runner = CliRunner()
        base = ["--data-dir", str(tmp_path / "data"), "--database-url", store_url]
        run = runner.invoke(main, [*base, "sync", "run", "--inline", "--json"], env=exports)
        contracts = runner.invoke(main, [*base, "contracts", "list", "--json"], env=exports)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
    assert run.exit_code == 0, run.output
    currencies = {c["currency"] for c in json.loads(contracts.stdout)}
    assert currencies == {"GBP"}
