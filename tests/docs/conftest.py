"""Fixtures for the docs' examples: the sandbox org the `org` blocks talk to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox import SandboxOrg


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
