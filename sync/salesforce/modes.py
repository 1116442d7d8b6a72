"""Which way to log in to Salesforce, decided from the settings alone.

Modes, first complete one wins::

    token               access token + instance URL (renewed with the refresh-token grant
                        when refresh token + consumer key are set; a refresh token alone
                        logs in)
    jwt                 username + consumer key + private key file (JWT bearer, RS256)
    password            username + password + consumer key + consumer secret (OAuth password)
    soap                username + password + security token, no consumer key (SOAP login)
    client_credentials  consumer key + consumer secret, no username (needs a My Domain)

An incomplete combination is a `SalesforceConfigError` (see `sync.salesforce.errors`)
whose message names the SFSYNC_ variables that would complete the closest mode.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sfsync.config import Settings
from sfsync.sync.salesforce.errors import SalesforceConfigError

__all__ = ["MODE_SETTINGS", "AuthMode", "choose_mode", "login_url", "secret_value"]


class AuthMode(StrEnum):
    """How the client obtains a session."""

    TOKEN = "token"
    JWT = "jwt"
    PASSWORD = "password"
    SOAP = "soap"
    CLIENT_CREDENTIALS = "client_credentials"


MODE_SETTINGS: dict[AuthMode, str] = {
    AuthMode.TOKEN: "SFSYNC_SF_REFRESH_TOKEN, SFSYNC_SF_CONSUMER_KEY and SFSYNC_SF_CONSUMER_SECRET",
    AuthMode.JWT: "SFSYNC_SF_USERNAME, SFSYNC_SF_CONSUMER_KEY and SFSYNC_SF_PRIVATE_KEY_FILE "
    "(and that the user is pre-authorised for the connected app)",
    AuthMode.PASSWORD: "SFSYNC_SF_USERNAME, SFSYNC_SF_PASSWORD, SFSYNC_SF_CONSUMER_KEY "
    "and SFSYNC_SF_CONSUMER_SECRET",
    AuthMode.SOAP: "SFSYNC_SF_USERNAME, SFSYNC_SF_PASSWORD and SFSYNC_SF_SECURITY_TOKEN",
    AuthMode.CLIENT_CREDENTIALS: "SFSYNC_SF_CONSUMER_KEY, SFSYNC_SF_CONSUMER_SECRET and "
    "SFSYNC_SF_DOMAIN / SFSYNC_SF_LOGIN_URL",
}


def secret_value(value: Any) -> str | None:
    """The plain text of a `SecretStr` setting, None when unset or empty."""
    if value is None:
        return None
    raw = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
    return raw or None


def login_url(settings: Settings) -> str:
    """Base URL of the login and token endpoints (no trailing slash)."""
    if settings.sf_login_url:
        return settings.sf_login_url.rstrip("/")
    return f"https://{settings.sf_domain}.salesforce.com"


def choose_mode(settings: Settings) -> AuthMode:
    """The auth mode the settings describe, or `SalesforceConfigError` naming what is missing."""
    username = settings.sf_username or None
    password = secret_value(settings.sf_password)
    token = secret_value(settings.sf_security_token)
    key = settings.sf_consumer_key or None
    secret = secret_value(settings.sf_consumer_secret)
    key_file = settings.sf_private_key_file
    access = secret_value(settings.sf_access_token)
    refresh = secret_value(settings.sf_refresh_token)

    if access or refresh:
        if access and not settings.sf_instance_url:
            raise _missing("an access token", ["SFSYNC_SF_INSTANCE_URL"])
        if refresh and not key:
            raise _missing("a refresh token", ["SFSYNC_SF_CONSUMER_KEY"])
        return AuthMode.TOKEN
    if username and key and key_file:
        return AuthMode.JWT
    if username and password and key and secret:
        return AuthMode.PASSWORD
    if username and password and token and not key:
        return AuthMode.SOAP
    if key and secret and not username:
        if not settings.sf_login_url and settings.sf_domain in {"login", "test"}:
            raise SalesforceConfigError(
                "the client-credentials login needs a My Domain: set SFSYNC_SF_DOMAIN "
                "(e.g. acme.my) or SFSYNC_SF_LOGIN_URL"
            )
        return AuthMode.CLIENT_CREDENTIALS

    # Incomplete: name what would complete the closest mode.
    if username and key:
        missing = ["SFSYNC_SF_PRIVATE_KEY_FILE (JWT bearer)"]
        if password:
            missing.append("SFSYNC_SF_CONSUMER_SECRET (password grant)")
        else:
            missing.append("SFSYNC_SF_PASSWORD and SFSYNC_SF_CONSUMER_SECRET (password grant)")
        raise _missing("a username and consumer key", missing, either=True)
    if username and password:
        raise _missing(
            "a username and password",
            [
                "SFSYNC_SF_SECURITY_TOKEN (SOAP login)",
                "SFSYNC_SF_CONSUMER_KEY and SFSYNC_SF_CONSUMER_SECRET",
            ],
            either=True,
        )
    if username:
        raise _missing(
            "a username",
            [
                "SFSYNC_SF_PASSWORD and SFSYNC_SF_SECURITY_TOKEN (SOAP login)",
                "SFSYNC_SF_PASSWORD, SFSYNC_SF_CONSUMER_KEY and SFSYNC_SF_CONSUMER_SECRET",
                "SFSYNC_SF_CONSUMER_KEY and SFSYNC_SF_PRIVATE_KEY_FILE (JWT bearer)",
            ],
            either=True,
        )
    if key:
        raise _missing(
            "a consumer key",
            [
                "SFSYNC_SF_CONSUMER_SECRET (client credentials)",
                "SFSYNC_SF_USERNAME (JWT bearer or password)",
            ],
            either=True,
        )
    if secret:
        raise _missing("a consumer secret", ["SFSYNC_SF_CONSUMER_KEY"])
    if password or token or key_file:
        raise _missing("a password, security token or private key", ["SFSYNC_SF_USERNAME"])
    if settings.sf_instance_url:
        raise _missing("an instance URL", ["SFSYNC_SF_ACCESS_TOKEN"])
    raise SalesforceConfigError(
        "no Salesforce credentials: set SFSYNC_SF_USERNAME with SFSYNC_SF_PASSWORD and "
        "SFSYNC_SF_SECURITY_TOKEN, or a connected app (SFSYNC_SF_CONSUMER_KEY with "
        "SFSYNC_SF_CONSUMER_SECRET or SFSYNC_SF_PRIVATE_KEY_FILE), or SFSYNC_SF_ACCESS_TOKEN "
        "with SFSYNC_SF_INSTANCE_URL"
    )


def _missing(have: str, missing: list[str], *, either: bool = False) -> SalesforceConfigError:
    joined = " or ".join(missing) if either else " and ".join(missing)
    return SalesforceConfigError(
        f"incomplete Salesforce credentials: with {have}, also set {joined}"
    )
