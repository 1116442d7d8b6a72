"""Reliability fixtures: a private Redis, a worker cluster, and the truth computed from the org.

Every scenario runs real processes — `celery worker`, `celery beat`, a `redis-server` of its
own on a loopback port (so it can be killed and restarted without touching the machine's
shared instance), the sandbox org in the test process and PostgreSQL — and checks the
store against what the sandbox's records say it must hold, computed without sfsync's
mapping code. The fixtures and helpers live in `fixtures/`, one module per concern; this
file only makes the fixtures visible to pytest.
"""

import pytest

# The helpers' asserts (`Snapshot.check`) explain a failure the way a conftest's do; this
# must run before the first import of the package.
pytest.register_assert_rewrite("tests.reliability.fixtures")

from tests.reliability.fixtures.cluster import cluster  # noqa: E402
from tests.reliability.fixtures.redis_server import private_redis  # noqa: E402
from tests.worker.conftest import processes  # noqa: E402

# Imported for pytest, which collects fixtures from a conftest's names.
__all__ = ["cluster", "private_redis", "processes"]
