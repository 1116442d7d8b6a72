"""Settings and logging. Imports nothing else of the project."""

from sfsync.config.logging import REDACTED, RedactSecretsFilter, configure_logging
from sfsync.config.settings import ConfigError, Settings, load_settings, mask_url_password

__all__ = [
    "REDACTED",
    "ConfigError",
    "RedactSecretsFilter",
    "Settings",
    "configure_logging",
    "load_settings",
    "mask_url_password",
]
