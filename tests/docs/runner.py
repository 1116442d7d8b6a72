"""Runs a page's examples in order in a throwaway folder, as a reader would type them."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.docs.blocks import PYTHON, SHELL, Block, Needs
from tests.docs.zygote import mirror_venv

VENV = Path(sys.prefix)
#: Where the docs' HTTP examples send their requests, and the key they show.
DOCS_SERVER = "localhost:8080"
DOCS_KEY = "sfsync_…"
BLOCK_TIMEOUT = 180
_LISTENING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")


class ExampleFailed(AssertionError):
    """A block exited non-zero (or raised)."""


def base_env(folder: Path) -> dict[str, str]:
    """The reader's environment: no SFSYNC_ setting of ours, so the data folder is the
    default one: the user data folder, under an XDG_DATA_HOME inside `folder`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SFSYNC_")}
    env.update(
        {
            "XDG_DATA_HOME": str(folder / ".local" / "share"),
            "PYTHONUNBUFFERED": "1",
            "COLUMNS": "200",
        }
    )
    return env


def workdir(folder: Path, fork_server_socket: Path) -> Path:
    """A folder laid out as the repository is for its examples: `.venv/bin/sfsync` works
    (through the fork server, see `tests.docs.zygote`), and so does the rest of `.venv`."""
    folder.mkdir(parents=True, exist_ok=True)
    mirror_venv(VENV, folder / ".venv", fork_server_socket)
    return folder


def run_block(block: Block, folder: Path, env: Mapping[str, str]) -> str:
    """Run one block in `folder`; its output, or `ExampleFailed` with the output."""
    if block.lang in SHELL:
        argv = ["bash", "-euo", "pipefail", "-c", block.code]
    elif block.lang in PYTHON:
        argv = [sys.executable, "-c", block.code]
    else:
        raise ValueError(f"{block.where}: {block.lang!r} blocks are not run")
    done = subprocess.run(
        argv,
        cwd=folder,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT,
        check=False,
    )
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise ExampleFailed(
            f"{block.where}: the {block.lang} example exited {done.returncode}:\n"
            f"{block.code}\n--- output ---\n{output[-4000:]}"
        )
    return output


@contextmanager
def live_server(folder: Path, env: Mapping[str, str]) -> Iterator[tuple[str, str]]:
    """`sfsync serve` on a free port over the page's data folder: its host:port and a key."""
    key = (
        subprocess.run(
            [str(VENV / "bin" / "sfsync"), "api-keys", "create", "docs", "--scope", "write"],
            cwd=folder,
            env=dict(env),
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    log = folder / "serve.log"
    with log.open("wb") as handle:
        proc = subprocess.Popen(
            [str(VENV / "bin" / "sfsync"), "serve", "--port", "0"],
            cwd=folder,
            env=dict(env),
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield _wait_listening(proc, log), key
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _wait_listening(proc: subprocess.Popen[bytes], log: Path) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        match = _LISTENING.search(log.read_text(errors="replace"))
        if match:
            address = f"127.0.0.1:{match.group(1)}"
            try:
                if httpx.get(f"http://{address}/healthz", timeout=2).status_code == 200:
                    return address
            except httpx.TransportError:
                pass
        time.sleep(0.1)
    raise AssertionError(f"sfsync serve did not start:\n{log.read_text(errors='replace')}")


def for_server(block: Block, address: str, key: str) -> Block:
    """`block` pointed at the live server: its address for `localhost:8080`, a real key for
    the placeholder `sfsync_…`."""
    code = block.code.replace(DOCS_SERVER, address).replace(DOCS_KEY, key)
    return Block(block.page, block.line, block.lang, code, block.needs, block.reason)


def needs(blocks: list[Block]) -> set[Needs]:
    """What the runnable blocks of a page need between them."""
    return {block.needs for block in blocks if block.runnable}
