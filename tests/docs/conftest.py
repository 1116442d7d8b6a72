"""Fixtures for the docs' examples: the sandbox org the `org` blocks talk to."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sfsync.sandbox import SandboxOrg
from tests.docs.zygote import fork_server


@pytest.fixture(scope="session")
def docs_org() -> Iterator[dict[str, str]]:
    """The org the docs show (`sfsync sandbox --seed 7 --opportunities 1000`, its defaults);
    the settings `sfsync sandbox` prints for it."""
    with SandboxOrg(seed=7, opportunities=1000) as org:
        yield {
            "SFSYNC_SF_INSTANCE_URL": org.instance_url,
            "SFSYNC_SF_ACCESS_TOKEN": org.access_token,
            "SFSYNC_SF_LOGIN_URL": org.login_url,
            "SFSYNC_SF_CONSUMER_KEY": org.consumer_key,
            "SFSYNC_SF_CONSUMER_SECRET": org.consumer_secret,
        }


@pytest.fixture(scope="session")
def sfsync_fork_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The socket of a fork server for the examples' `sfsync` command lines."""
    path = tmp_path_factory.mktemp("docs-fork") / "sfsync.sock"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SFSYNC_")}
    with fork_server(path, env):
        yield path
