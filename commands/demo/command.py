"""`sfsync demo`: the command, its settings and its data folder.

It serves a sandbox org in this process, starts a real `celery worker` and `celery beat`
on the filesystem broker and a SQLite store in a fresh data folder, and walks through the
three flows (`steps.py` and `flows.py`; the org's records in `org.py`). Every process it
starts runs in its own process group (`runtime.py`) and is stopped on exit, on an error
and on Ctrl-C/SIGTERM.

The sandbox is imported only inside the command: the product never loads it otherwise.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from sfsync.commands.common import App, OperationFailed, console, pass_app
from sfsync.commands.demo import flows
from sfsync.commands.demo.runtime import (
    Children,
    DemoFailed,
    Stopped,
    program_name,
    project_root,
    signals_ignored,
    signals_unwind,
)
from sfsync.commands.demo.steps import Steps
from sfsync.config import Settings
from sfsync.sandbox import SandboxOrg

__all__ = ["DemoSettings", "demo", "demo_values", "environment_of", "fresh_folder"]


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
    except (KeyboardInterrupt, Stopped) as exc:
        signum = exc.signum if isinstance(exc, Stopped) else signal.SIGINT
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
        flows.usage_per_suborg(steps)
        flows.new_suborg(steps)
        flows.dead_letter(steps)
        flows.fix_and_replay(steps)
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
