"""The rules single setting values are held to: currency codes, URLs (checked and masked),
the organization id, the outbound-message token, log levels and lists.

Each check returns the value or raises `ValueError` (pydantic's validators turn it into the
one-line `ConfigError` naming the variable); `Settings` and the mapping file share them.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from sfsync.config.ids import salesforce_id_18

try:  # kombu comes with Celery; the names are the broker URL schemes it understands
    from kombu.transport import TRANSPORT_ALIASES as _BROKER_SCHEMES
except ImportError:  # pragma: no cover - kombu is a dependency
    _BROKER_SCHEMES = {}

__all__ = [
    "CURRENCY_CODE",
    "MANUAL_CONTRACT_CURRENCY",
    "MASK",
    "broker_url",
    "currency_code",
    "database_url",
    "log_level",
    "mask_url_password",
    "organization_id",
    "outbound_token",
    "split_list",
    "url_password",
]

#: Currency of a contract created by hand with neither --currency nor SFSYNC_DEFAULT_CURRENCY
#: (there is no org to ask).
MANUAL_CONTRACT_CURRENCY = "USD"
#: An ISO 4217 code as the store keeps a currency: three upper-case letters. The store's
#: rule, defined here because SFSYNC_DEFAULT_CURRENCY is held to it and config sits below
#: models/ (which imports it for contracts, as mapping does for records).
CURRENCY_CODE = re.compile(r"[A-Z]{3}")

_URL_PASSWORD = re.compile(r"^([A-Za-z0-9+.-]+://[^:/@]*:)([^@/]+)(@)")
MASK = "***"


def currency_code(value: str | None) -> str | None:
    """`value` held to `CURRENCY_CODE`: the one check of SFSYNC_DEFAULT_CURRENCY and the
    mapping file's ``[currency] default`` (a validator's ValueError when it fails)."""
    if value is not None and not CURRENCY_CODE.fullmatch(value):
        raise ValueError("must be an ISO 4217 code of three upper-case letters, e.g. USD")
    return value


def split_list(value: Any) -> Any:
    """A list setting given as one string: its parts, split at spaces, commas or semicolons."""
    if isinstance(value, str):
        return [part for part in re.split(r"[\s,;]+", value) if part]
    return value


def url_password(url: str | None) -> str | None:
    """The password in a URL's user-info, if it has one."""
    if not url:
        return None
    match = _URL_PASSWORD.match(url)
    return match.group(2) if match else None


def mask_url_password(url: str) -> str:
    """`url` with the password in its user-info replaced by `***`."""
    return _URL_PASSWORD.sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", url, count=1)


def database_url(value: str | None) -> str | None:
    """A SQLAlchemy URL of a dialect installed here (empty: none)."""
    if not value:
        return None
    try:
        make_url(value).get_dialect()
    except NoSuchModuleError:  # an ArgumentError too: first
        scheme = value.partition("://")[0]
        raise ValueError(
            f"unknown database {scheme!r} (use postgresql://… or sqlite:///…)"
        ) from None
    except ArgumentError:
        raise ValueError(
            f"not a database URL: {mask_url_password(value)!r} "
            "(expected e.g. postgresql://user:password@host:5432/sfsync or sqlite:///path)"
        ) from None
    return value


def broker_url(value: str | None) -> str | None:
    """A broker URL of a transport kombu knows (empty: none)."""
    if not value:
        return None
    scheme, sep, _ = value.partition("://")
    if not sep:
        raise ValueError(
            f"not a broker URL: {mask_url_password(value)!r} (expected e.g. redis://host:6379/0)"
        )
    base = scheme.partition("+")[0]
    if base not in _BROKER_SCHEMES:
        raise ValueError(
            f"unknown broker transport {scheme!r} (use redis://…, rediss://… or amqp://…)"
        )
    return value


def organization_id(value: str | None) -> str | None:
    """A Salesforce organization id (00D…) whose checksum `config.ids` can read."""
    if value is None:
        return None
    # The listener compares ids by `config.ids`' algorithm: an id it cannot read (a
    # checksum that does not match) would refuse every message, so it is refused here.
    try:
        valid = salesforce_id_18(value).startswith("00D")
    except ValueError:
        valid = False
    if not valid:
        raise ValueError(
            "must be a Salesforce organization id: 00D and 12 or 15 more characters, "
            "as Setup > Company Information shows it"
        )
    return value


def outbound_token(value: str | None) -> str | None:
    """An outbound-message token: 32 to 200 URL-safe characters."""
    if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{32,200}", value):
        raise ValueError(
            "must be 32 to 200 URL-safe characters (letters, digits, - and _), e.g. from "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    return value


def log_level(value: str) -> str:
    """A logging level name, upper-cased."""
    upper = value.upper()
    if upper not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
    return upper
