"""Unit-test fixtures (the root conftest already keeps SFSYNC_* variables out)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sfsync.config import Settings
from tests.unit.factories import build_settings


@pytest.fixture
def make_settings() -> Callable[..., Settings]:
    """Build `Settings` from keyword arguments only."""
    return build_settings
