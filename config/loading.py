"""Loading the settings: from the environment (and overrides) into `Settings`, or one
`ConfigError` line naming the variable; and the environment that hands overrides to a child
process.

Errors: `ConfigError` (drawn in `config/settings.py`) is the only one raised here.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from sfsync.config.mapping_file import MappingFileError
from sfsync.config.settings import ENV_PREFIX, ConfigError, Settings

__all__ = ["environment_for", "load_settings"]


def load_settings(**overrides: Any) -> Settings:
    """Build the settings from the environment (and overrides), or raise `ConfigError`.

    The error's message is one line naming the variable and what is wrong with it.
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    except MappingFileError as exc:
        raise ConfigError(str(exc)) from None


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ()) if part != "__root__"]
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        if loc:
            problems.append(f"{ENV_PREFIX}{loc[0].upper()}: {message}")
        else:
            problems.append(message)
    return "invalid setting: " + "; ".join(problems)


def environment_for(overrides: dict[str, Any]) -> dict[str, str]:
    """The `SFSYNC_` variables under which `load_settings()` in a child process sees `overrides`."""
    return {f"{ENV_PREFIX}{name.upper()}": str(value) for name, value in overrides.items()}
