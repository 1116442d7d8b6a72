"""Factories shared by unit and integration tests."""

from __future__ import annotations

from typing import Any

from config import Settings


def build_settings(**overrides: Any) -> Settings:
    """`Settings` from keyword arguments only, never from a .env file."""
    return Settings(_env_file=None, **overrides)
