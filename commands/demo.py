"""`sfsync demo`: the whole system on its embedded defaults, narrated step by step.

It serves a sandbox org in this process, starts a real `celery worker` and `celery beat`
on the filesystem broker and a SQLite store in a fresh data folder, and walks through the
three flows (`commands/demo_steps.py` and `commands/demo_flows.py`; the org's
records in `commands/demo_org.py`). Every process it starts runs in its own
process group and is stopped on exit, on an error and on Ctrl-C/SIGTERM.

The sandbox is imported only inside the command: the product never loads it otherwise.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import click
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from commands.common import App, OperationFailed, console, pass_app
from config import Settings

T = TypeVar("T")

# Seconds a stopped child gets for a warm shutdown before it is killed.
STOP_GRACE = 10.0


class DemoFailed(Exception):
    """A step did not happen in time, or a child process died; the message says which."""


class DemoSettings(Settings):
    """Settings from the demo's own values only: no environment variables, no `.env` file.

    The children get the same values through their environment (with every inherited
    SFSYNC_ variable removed), so both sides agree whatever the user's shell exports.
    """

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def demo_values(data_dir: Path, org: Any, *, fast: bool) -> dict[str, Any]:
    """The settings of the demo (field name → value), pointing at the sandbox org."""
    return {
        "data_dir": data_dir,
        "log_level": "INFO",
        "poll_interval": 1 if fast else 3,
        "usage_sweep_interval": 1 if fast else 2,
        # Client credentials against the sandbox's token endpoint, as with a real My Domain.
        "sf_instance_url": org.instance_url,
        "sf_login_url": org.login_url,
        "sf_consumer_key": org.consumer_key,
        "sf_consumer_secret": org.consumer_secret,
        "sf_alias_fields": "Ingest_Alias__c",
        "contract_term_field": "Contract_Term_Months__c",
        # Keep a failing call from stalling the narration for long.
        "sf_retry_max_wait": 2.0,
    }


def environment_of(values: dict[str, Any]) -> dict[str, str]:
    """The SFSYNC_ variables that give a child process these settings."""
    return {f"SFSYNC_{name.upper()}": str(value) for name, value in values.items()}


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
                [sys.executable, "-m", "celery", "-A", "celery_app", *args],
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


class _Stop(BaseException):
    """Raised from a signal handler (SIGTERM, SIGHUP) to unwind through the cleanup."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_stop(signum: int, _frame: FrameType | None) -> None:
    raise _Stop(signum)


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
    """The folder `celery_app` is imported from (installed or a source checkout)."""
    spec = importlib.util.find_spec("celery_app")
    return str(Path(spec.origin).parent) if spec is not None and spec.origin else ""


def program_name() -> str:
    """How the reader invoked sfsync (e.g. `.venv/bin/sfsync`), for the commands shown."""
    invoked = sys.argv[0] if sys.argv else ""
    return invoked if Path(invoked).name == "sfsync" else "sfsync"


def fresh_folder(given: Path | None) -> tuple[Path, bool]:
    """The data folder (must be empty or absent) and whether the demo made it (temporary)."""
    if given is None:
        return Path(tempfile.mkdtemp(prefix="sfsync-demo-")).resolve(), True
    if given.exists() and any(given.iterdir()):
        raise click.UsageError(
            f"the demo needs a fresh data folder; {given} is not empty (remove it or pick another)"
        )
    given.mkdir(parents=True, exist_ok=True)
    return given.resolve(), False


def shell_line(env: dict[str, str], *command: str) -> str:
    prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    return f"{prefix} {shlex.join(command)}".strip()


@click.command("demo")
@click.option(
    "--keep-running",
    is_flag=True,
    help="Leave the worker, beat and sandbox org up after the demo, until Ctrl-C.",
)
@click.option("--fast", is_flag=True, hidden=True, help="Shorter intervals (for CI).")
@pass_app
def demo(app: App, keep_running: bool, fast: bool) -> None:
    """Show the whole system working on its embedded defaults (no Redis, PostgreSQL or
    Salesforce account needed): a sandbox org, a real worker and beat, sync, usage
    attribution and dead-letter replay.

    Uses a fresh temporary data folder, kept once the demo has completed (so the commands
    it shows work against it; it says where) and removed if it stops early; with the global
    `--data-dir` it uses (and keeps) that folder, which must be empty.
    """
    if app.overrides.get("database_url"):
        raise click.UsageError("the demo runs on the embedded SQLite store; drop --database-url")
    given = app.overrides.get("data_dir")
    data_dir, temporary = fresh_folder(Path(given) if given is not None else None)
    started = time.monotonic()
    completed: list[bool] = []
    try:
        with signals_unwind():
            _run(
                data_dir,
                keep_running=keep_running,
                fast=fast,
                started=started,
                on_complete=lambda: completed.append(True),
            )
    except (KeyboardInterrupt, _Stop) as exc:
        signum = exc.signum if isinstance(exc, _Stop) else signal.SIGINT
        if keep_running and signum == signal.SIGINT:
            console.print("\nstopped the worker, beat and sandbox org; bye", highlight=False)
            return
        console.print("\ninterrupted: stopped every process the demo started", highlight=False)
        raise SystemExit(128 + int(signum)) from None
    except DemoFailed as exc:
        raise OperationFailed(f"the demo failed: {exc}") from None
    finally:
        if temporary and not completed:
            shutil.rmtree(data_dir, ignore_errors=True)
        elif temporary:
            console.print(
                f"The demo's data folder is kept: {data_dir} (the commands above work against "
                f"it; remove it with `rm -rf {shlex.quote(str(data_dir))}`)",
                highlight=False,
                soft_wrap=True,
            )


def _run(
    data_dir: Path,
    *,
    keep_running: bool,
    fast: bool,
    started: float,
    on_complete: Callable[[], None],
) -> None:
    # Imported here: the sandbox (and Celery's task modules) load only when the demo runs.
    from commands import demo_flows
    from commands.demo_steps import Steps
    from sandbox import SandboxOrg

    org = SandboxOrg(accounts=0, opportunities=0)  # empty; the demo creates its own records
    children: Children | None = None
    steps = Steps(org, data_dir, program_name(), fast=fast)
    try:
        steps.start_org()
        values = demo_values(data_dir, org, fast=fast)
        settings = DemoSettings(**values)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SFSYNC_")}
        env.update(environment_of(values))
        env["PYTHONUNBUFFERED"] = "1"
        # The children run in the data folder (so no stray `.env` or pid file is read or
        # left in the caller's folder); they must still import the project from here.
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (project_root(), env.get("PYTHONPATH", "")) if p
        )
        children = Children(env, cwd=data_dir, logs=data_dir / "logs")
        steps.attach(settings, children, environment_of(values))
        steps.start_workers()
        steps.first_sync()
        steps.customers_and_contracts()
        demo_flows.usage_per_suborg(steps)
        demo_flows.new_suborg(steps)
        demo_flows.dead_letter(steps)
        demo_flows.fix_and_replay(steps)
        steps.finish(time.monotonic() - started)
        on_complete()
        if keep_running:
            steps.keep_running()
    except DemoFailed as exc:
        # The data folder may be a temporary one about to go: say what the children said.
        logs = children.tails() if children is not None else ""
        raise DemoFailed(f"{exc}\n{logs}".rstrip()) from None
    finally:
        with signals_ignored():
            if children is not None:
                console.print("stopping the worker and beat…", style="dim", highlight=False)
                children.stop()
            org.stop()
            steps.close()
