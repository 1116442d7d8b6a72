"""Settings and logging. Imports nothing else of the project."""

from sfsync.config.loading import load_settings
from sfsync.config.logging import REDACTED, RedactSecretsFilter, configure_logging
from sfsync.config.settings import ConfigError, Settings
from sfsync.config.values import mask_url_password

__all__ = [
    "REDACTED",
    "ConfigError",
    "RedactSecretsFilter",
    "Settings",
    "configure_logging",
    "load_settings",
    "mask_url_password",
]
