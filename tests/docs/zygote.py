"""A fork server for the docs' `sfsync` command lines, so that running them costs a fork
rather than a fresh interpreter importing the whole application (about 1.5 s of CPU each).

The examples call `.venv/bin/sfsync`. In the runner's folder that is a small client script:
it hands its argv, environment, working folder and its stdin/stdout/stderr (the descriptors
themselves) to this server, which has imported `cli` once and forks for each command line.
The child runs `cli.main` with that argv exactly as the console script would, in that
folder with that environment, and its exit code becomes the client's. Every other file of
the real virtual environment (python, celery, pip) is linked as it is.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Imported once, before any fork: every child starts with the application loaded.
from sfsync import cli

_HEADER = 8
_CLIENT = """#!{python} -IS
import json, os, socket, sys
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.connect({path!r})
payload = json.dumps({{"argv": sys.argv, "env": dict(os.environ), "cwd": os.getcwd()}}).encode()
socket.send_fds(sock, [len(payload).to_bytes(8, "big")], [0, 1, 2])
sock.sendall(payload)
code = b""
while len(code) < 4:
    chunk = sock.recv(4 - len(code))
    if not chunk:
        sys.exit("sfsync: the docs runner's fork server went away")
    code += chunk
sys.exit(int.from_bytes(code, "big", signed=True))
"""


def _read_exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def _child(
    conn: socket.socket, listener: socket.socket, fds: list[int], request: dict[str, Any]
) -> None:
    listener.close()
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = request["argv"]
    random.seed()
    code = 1
    try:
        cli.main(args=request["argv"][1:], prog_name="sfsync")
        code = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        conn.sendall(int(code).to_bytes(4, "big", signed=True))
        os._exit(int(code))


def serve(path: str) -> None:
    """Import the application once, then fork a child per client connection."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(8)
    print("ready", flush=True)
    while True:
        conn, _ = listener.accept()
        header, fds, _, _ = socket.recv_fds(conn, _HEADER, 3)
        request = json.loads(_read_exactly(conn, int.from_bytes(header, "big")))
        sys.stdout.flush()
        sys.stderr.flush()
        if os.fork() == 0:
            _child(conn, listener, fds, request)
        for fd in fds:
            os.close(fd)
        conn.close()


def mirror_venv(venv: Path, target: Path, socket_path: Path) -> None:
    """`target` laid out as `venv`, every entry linked, but `bin/sfsync` a client of the
    fork server at `socket_path`."""
    target.mkdir(parents=True)
    for entry in venv.iterdir():
        if entry.name != "bin":
            (target / entry.name).symlink_to(entry)
    (target / "bin").mkdir()
    for entry in (venv / "bin").iterdir():
        if entry.name != "sfsync":
            (target / "bin" / entry.name).symlink_to(entry)
    client = target / "bin" / "sfsync"
    client.write_text(_CLIENT.format(python=sys.executable, path=str(socket_path)))
    client.chmod(0o755)


@contextmanager
def fork_server(socket_path: Path, env: dict[str, str]) -> Iterator[None]:
    """The fork server, listening on `socket_path` until the block ends."""
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-c", f"from tests.docs.zygote import serve; serve({str(socket_path)!r})"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.stdout.readline().strip() != b"ready":
            if proc.poll() is not None:
                raise AssertionError("the docs runner's fork server did not start")
        yield
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
