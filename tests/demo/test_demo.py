"""`sfsync demo` end to end: the real command, a real worker and beat, checked step by step.

The demo runs as a subprocess exactly as `make demo` runs it, with the hidden `--fast`
flag (one-second poll and sweep intervals) and an explicit `--data-dir` so the store it
leaves behind can be inspected and no process can hide from the leak check.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from sfsync.cli import main

pytestmark = pytest.mark.worker

SFSYNC = Path(sys.executable).with_name("sfsync")
STEP = re.compile(r"^Step (\d)/8 · ", re.MULTILINE)
# Printed commands that need the sandbox's credentials or a running worker.
NEEDS_ORG = (("dlq", "retry"), ("sync", "run"))


def demo_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SFSYNC_")}
    # Wide enough that no table cell or command line wraps, so lines can be matched.
    env.update(COLUMNS="220", PYTHONUNBUFFERED="1", NO_COLOR="1")
    return env


def processes_using(data_dir: Path) -> list[int]:
    """Pids of live processes whose environment points at this data folder (the children)."""
    marker = f"SFSYNC_DATA_DIR={data_dir}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and marker in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def no_children_left(data_dir: Path, timeout: float = 10) -> list[int]:
    deadline = time.monotonic() + timeout
    while (left := processes_using(data_dir)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def steps_of(output: str) -> dict[int, str]:
    """Each step's text, keyed by its number."""
    marks = list(STEP.finditer(output))
    return {
        int(m.group(1)): output[m.start() : marks[i + 1].start() if i + 1 < len(marks) else None]
        for i, m in enumerate(marks)
    }


def row(text: str, *cells: str) -> bool:
    """A table row holding these cells in this order."""
    pattern = r"\s*│\s*".join(re.escape(c) for c in cells)
    return re.search(pattern, text) is not None


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")
def test_demo_runs_every_step_and_leaves_nothing_running(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    started = time.monotonic()
    done = subprocess.run(
        [str(SFSYNC), "--data-dir", str(data_dir), "demo", "--fast"],
        env=demo_env(),
        check=False,
        capture_output=True,
        text=True,
        timeout=150,
    )
    elapsed = time.monotonic() - started
    output = done.stdout
    assert done.returncode == 0, output + done.stderr
    assert no_children_left(data_dir) == []
    assert elapsed < 120

    steps = steps_of(output)
    assert sorted(steps) == list(range(1, 9)), output
    for number, text in steps.items():
        assert "  $ " in text, f"step {number} shows no command"
        assert number < 3 or f"--data-dir {data_dir}" in text, f"step {number}: no --data-dir"

    # 1. the org: an enterprise with three sub-organisations, won/lost/open in currencies
    account = re.search(r"WidgetsExpress (001\w{15}) \(widgetsexpress\)", steps[1])
    assert account, steps[1]
    enterprise_id = account.group(1)
    for alias in ("widgets-eu", "widgets-us", "widgets-apac"):
        assert f"Ingest_Alias__c = {alias}" in steps[1]
    assert row(steps[1], "won", "9", "Closed Won, Signed", "EUR, GBP, JPY, USD")
    assert row(steps[1], "lost", "7")
    assert row(steps[1], "open", "9")

    # 3. the first beat-triggered sync
    assert re.search(r"Run \d+ \(beat, succeeded\)", steps[3]), steps[3]
    assert "8 customers, 9 contracts" in steps[3]

    # 4. WidgetsExpress with its sfdc_account_id and the three sub-organisation aliases
    assert row(steps[4], "WidgetsExpress", enterprise_id, "widgets-apac", "2")
    # The alias cell runs over several lines, until the next customer's row.
    start = re.search(rf"WidgetsExpress\s*│\s*{enterprise_id}", steps[4])
    assert start, steps[4]
    aliases_cell = steps[4][start.start() : steps[4].index("Cyberdyne")]
    for alias in ("widgets-eu", "widgets-us", "widgetsexpress"):
        assert alias in aliases_cell
    assert row(steps[4], "Tyrell Robotics KK", "Factory metering")
    assert "9,600,000 JPY" in steps[4]

    # 5. usage split per sub-organisation, and the alias nobody holds yet is pending
    assert row(steps[5], "widgets-apac", "4", "6,060")
    assert row(steps[5], "widgets-eu", "6", "7,350")
    assert row(steps[5], "widgets-us", "9", "7,560")
    assert row(steps[5], "total", "19", "20,970")
    assert row(steps[5], "widgets-latam", "5", "no customer holds this alias yet")

    # 6. the account sync attaches the new sub-organisation: its usage is attributed
    assert re.search(r"Account run \d+ \(beat\)", steps[6]), steps[6]
    assert row(steps[6], "widgets-latam", "5", "1,600")
    assert row(steps[6], "total", "24", "22,570")
    assert "No pending usage is left." in steps[6]

    # 7. the won deal without an account is a dead letter
    letter = re.search(r"dead letter (\d+)", steps[7])
    assert letter, steps[7]
    assert row(steps[7], "status", "open")
    assert "MappingError: opportunity has no AccountId" in steps[7]

    # 8. fixed in Salesforce and replayed: a new contract
    assert f"Letter {letter.group(1)} is now replayed" in steps[8]
    assert row(steps[8], "WidgetsExpress - LATAM launch", "WidgetsExpress")
    assert "27,000 USD" in steps[8]
    assert "Demo complete" in output

    # Every command the demo printed works against the store it left behind.
    runner = CliRunner()
    printed = [
        shlex.split(line.split("$ ", 1)[1].split("   #")[0])
        for line in output.splitlines()
        if line.strip().startswith("$ ") and "--data-dir" in line
    ]
    assert len(printed) >= 12
    for argv in printed:
        args = argv[1:]
        if any(tuple(args[2:4]) == skip for skip in NEEDS_ORG):
            continue
        result = runner.invoke(main, args)
        assert result.exit_code == 0, (args, result.output)


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")
def test_demo_in_a_temporary_folder_keeps_it_for_the_commands_it_printed(tmp_path: Path) -> None:
    """Without --data-dir the printed commands name a folder that still exists afterwards."""
    env = {**demo_env(), "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        [str(SFSYNC), "demo", "--fast"],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (folder,) = [p for p in tmp_path.iterdir() if p.name.startswith("sfsync-demo-")]
    assert no_children_left(folder) == []
    assert f"data folder is kept: {folder}" in done.stdout
    named = {
        shlex.split(line.split("$ ", 1)[1])[2]
        for line in done.stdout.splitlines()
        if line.strip().startswith("$ ") and "--data-dir" in line
    }
    assert named == {str(folder)}
    result = CliRunner().invoke(main, ["--data-dir", str(folder), "customers", "list", "--json"])
    assert result.exit_code == 0 and len(json.loads(result.stdout)) >= 2, result.output


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")
def test_ctrl_c_stops_every_process(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    proc = subprocess.Popen(
        [str(SFSYNC), "--data-dir", str(data_dir), "demo", "--fast"],
        env=demo_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        seen = []
        assert proc.stdout is not None
        for line in proc.stdout:
            seen.append(line)
            if line.startswith("Step 3/8"):  # worker and beat are up by now
                break
        assert processes_using(data_dir), "".join(seen)
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, "".join(seen) + rest
    assert "interrupted" in rest
    assert no_children_left(data_dir) == []


def test_the_demo_needs_a_fresh_data_folder(tmp_path: Path) -> None:
    (tmp_path / "old.db").write_text("")
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "demo"])
    assert result.exit_code == 2
    assert "fresh data folder" in result.output


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")
def test_keep_running_prints_settings_that_work_until_ctrl_c(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    proc = subprocess.Popen(
        [str(SFSYNC), "--data-dir", str(data_dir), "demo", "--fast", "--keep-running"],
        env=demo_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        seen = []
        assert proc.stdout is not None
        for line in proc.stdout:
            seen.append(line)
            if line.startswith("then e.g."):
                break
        exports = dict(
            line.removeprefix("export ").strip().split("=", 1)
            for line in seen
            if line.startswith("export ")
        )
        assert exports["SFSYNC_DATA_DIR"] == str(data_dir), "".join(seen)
        # The printed settings reach the store and the sandbox org from another process.
        env = {**demo_env(), **{k: shlex.split(v)[0] for k, v in exports.items()}}
        commands = (["customers", "show", "--alias", "widgets-latam"], ["sync", "run", "--inline"])
        for args in commands:
            done = subprocess.run(
                [str(SFSYNC), *args],
                env=env,
                check=False,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0, done.stdout + done.stderr
        assert processes_using(data_dir)
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, rest
    assert no_children_left(data_dir) == []
