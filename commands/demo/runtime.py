"""The demo's runtime: its child processes, deadline waits, signal handling and failure.

Everything the command (`command.py`) and the narration (`steps.py`, `flows.py`) share at
run time lives here, and this module imports nothing of the demo, so the demo's modules
form a tree below it instead of importing one another in a circle. Stdlib only.

Errors::

    DemoFailed     a step did not happen in time, or a child process died (says which)
    Stopped        (a BaseException) raised from SIGTERM/SIGHUP to unwind through cleanup
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType
from typing import TypeVar

__all__ = [
    "STOP_GRACE",
    "Children",
    "DemoFailed",
    "Stopped",
    "program_name",
    "project_root",
    "shell_line",
    "signals_ignored",
    "signals_unwind",
    "tail",
    "wait_until",
]

T = TypeVar("T")

# Seconds a stopped child gets for a warm shutdown before it is killed.
STOP_GRACE = 10.0


class DemoFailed(Exception):
    """A step did not happen in time, or a child process died; the message says which."""


class Children:
    """`celery` processes started by the demo, each in its own process group."""

    def __init__(self, env: dict[str, str], cwd: Path, logs: Path) -> None:
        self.env = env
        self.cwd = cwd
        self.logs = logs
        self.procs: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = self.logs / f"{name}.log"
        with log.open("wb") as handle:
            proc = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "sfsync.celery_app", *args],
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=handle,
                stderr=subprocess.STDOUT,
                # A group of its own: the terminal's Ctrl-C reaches only the demo, which then
                # stops each group (worker and its pool processes) in order.
                start_new_session=True,
            )
        self.procs[name] = (proc, log)
        return proc

    def check(self) -> None:
        """Raise `DemoFailed` (with the end of its log) if a child has exited."""
        for name, (proc, log) in self.procs.items():
            code = proc.poll()
            if code is not None:
                raise DemoFailed(f"celery {name} exited with code {code}:\n{tail(log)}")

    def tails(self) -> str:
        """The end of every child's log, for an error message."""
        return "\n".join(
            f"--- {name} ({log}) ---\n{tail(log)}" for name, (_, log) in self.procs.items()
        )

    def stop(self) -> None:
        """SIGTERM each main process, wait for a warm shutdown, SIGKILL what is left."""
        for proc, _ in self.procs.values():
            # The main process only: it stops its own pool, which a group-wide SIGTERM would
            # make it restart first.
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for proc, _ in self.procs.values():
            with suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            # The pool's processes may outlive the main one; the group goes in any case.
            _signal_group(proc, signal.SIGKILL)
            proc.wait()


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_until(
    condition: Callable[[], T | None],
    *,
    what: str,
    timeout: float,
    children: Children | None = None,
    interval: float = 0.2,
) -> T:
    """Poll `condition` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if children is not None:
            children.check()
        if time.monotonic() > deadline:
            raise DemoFailed(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


class Stopped(BaseException):
    """Raised from a signal handler (SIGTERM, SIGHUP) to unwind through the cleanup."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_stop(signum: int, _frame: FrameType | None) -> None:
    raise Stopped(signum)


@contextmanager
def signals_unwind() -> Iterator[None]:
    """SIGTERM and SIGHUP unwind like Ctrl-C does, so `finally` blocks always run."""
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    # A shell starts background jobs with SIGINT ignored; the demo must still stop on it.
    previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def signals_ignored() -> Iterator[None]:
    """A second Ctrl-C must not cut the cleanup short and leave processes behind."""
    sigs = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in sigs}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def project_root() -> str:
    """The folder the `sfsync` package is imported from (installed or a source checkout)."""
    spec = importlib.util.find_spec("sfsync")
    return str(Path(spec.origin).parent.parent) if spec is not None and spec.origin else ""


def program_name() -> str:
    """How the reader invoked sfsync (e.g. `.venv/bin/sfsync`), for the commands shown."""
    invoked = sys.argv[0] if sys.argv else ""
    return invoked if Path(invoked).name == "sfsync" else "sfsync"


def shell_line(env: dict[str, str], *command: str) -> str:
    prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    return f"{prefix} {shlex.join(command)}".strip()
