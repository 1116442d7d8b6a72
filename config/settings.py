"""The one `Settings` object: every knob sfsync has, read once from the environment.

Errors::

    ConfigError            a setting is missing, malformed or inconsistent (exit code 2)

Everything else in the project receives a `Settings` instance; nothing else reads
`os.environ`.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from config.logging import LogFormat

ENV_PREFIX = "SFSYNC_"


class ConfigError(Exception):
    """A setting is missing, malformed or inconsistent; the message names the variable."""


def _split_list(value: Any) -> Any:
    if isinstance(value, str):
        return [part for part in re.split(r"[\s,;]+", value) if part]
    return value


class Settings(BaseSettings):
    """All of sfsync's configuration (environment prefix ``SFSYNC_``, optional ``.env``)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    # --- where things live -------------------------------------------------------------
    data_dir: Path = Field(Path(".sfsync"), description="Folder for the embedded store and broker.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL of the store; default: SQLite file in the data folder."
    )
    broker_url: str | None = Field(
        None,
        description="Celery broker URL; default: kombu filesystem transport in the data folder.",
    )
    broker_visibility_timeout: int = Field(
        3600, ge=60, description="Seconds before an unacknowledged task is redelivered (Redis)."
    )
    log_level: str = Field("INFO", description="Logging level.")
    log_format: LogFormat = Field(
        LogFormat.TEXT, description="`text`, or `json` for one JSON object per line."
    )

    # --- Salesforce connection ---------------------------------------------------------
    sf_username: str | None = Field(None, description="Integration user's username.")
    sf_password: SecretStr | None = Field(None, description="Integration user's password.")
    sf_security_token: SecretStr | None = Field(None, description="Security token (SOAP login).")
    sf_domain: str = Field("login", description="`login`, `test` or a My Domain such as `acme.my`.")
    sf_consumer_key: str | None = Field(None, description="Connected app consumer key.")
    sf_consumer_secret: SecretStr | None = Field(None, description="Connected app consumer secret.")
    sf_private_key_file: Path | None = Field(
        None, description="PEM private key for the JWT bearer flow."
    )
    sf_instance_url: str | None = Field(None, description="Instance URL for a ready access token.")
    sf_access_token: SecretStr | None = Field(
        None, description="A ready access token (session id)."
    )
    sf_refresh_token: SecretStr | None = Field(None, description="OAuth refresh token.")
    sf_login_url: str | None = Field(
        None,
        description="Base URL of the login/token endpoint; default https://{domain}.salesforce.com.",
    )
    sf_api_version: str = Field("59.0", description="Salesforce REST API version.")
    sf_api_usage_max_percent: float = Field(
        80.0,
        gt=0,
        le=100,
        description="Stop a run as `throttled` above this share of the API allowance.",
    )
    sf_connect_timeout: float = Field(5.0, gt=0, description="Seconds to connect to Salesforce.")
    sf_read_timeout: float = Field(
        60.0, gt=0, description="Seconds to wait for a Salesforce response."
    )
    sf_retry_attempts: int = Field(
        5, ge=1, description="Attempts per Salesforce call for transient errors."
    )
    sf_retry_max_wait: float = Field(30.0, gt=0, description="Cap in seconds of one backoff wait.")
    sf_alias_fields: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Account fields whose values become ingest aliases."
    )
    sf_writeback_field: str | None = Field(
        None, description="Account field that receives the billing customer id (optional)."
    )
    sf_multi_currency: bool = Field(True, description="The org has CurrencyIsoCode on records.")

    # --- mapping -------------------------------------------------------------------------
    alias_include_account_id: bool = Field(True, description="The account id is an ingest alias.")
    alias_include_suborgs: bool = Field(True, description="Child accounts become ingest aliases.")
    contract_start_field: str = Field(
        "CloseDate", description="Opportunity field for the contract start."
    )
    contract_end_field: str | None = Field(
        None, description="Opportunity field for the contract end."
    )
    contract_term_field: str | None = Field(
        None, description="Opportunity field with the term in months (used when no end field)."
    )
    default_currency: str = Field("USD", description="Currency when the record has none.")

    # --- sync ----------------------------------------------------------------------------
    poll_interval: int = Field(300, ge=1, description="Seconds between beat-driven polls.")
    sync_lookback_seconds: int = Field(600, ge=0, description="Seconds re-read before the cursor.")
    sync_start: datetime | None = Field(
        None, description="First cursor (ISO 8601); default: everything."
    )
    sync_lease_seconds: int = Field(120, ge=5, description="Lease length of a running poll.")

    # --- usage ---------------------------------------------------------------------------
    usage_sweep_interval: int = Field(60, ge=1, description="Seconds between pending-usage sweeps.")
    usage_max_age_days: int = Field(34, ge=1, description="Oldest accepted event, in days.")
    usage_max_future_hours: int = Field(
        24, ge=0, description="Furthest-ahead accepted event, in hours."
    )
    usage_max_properties_bytes: int = Field(
        16384, ge=2, description="Largest accepted `properties` object, JSON-encoded."
    )

    # --- tasks ---------------------------------------------------------------------------
    task_max_retries: int = Field(5, ge=0, description="Retries of a transient task failure.")
    task_retry_backoff_max: int = Field(
        600, ge=1, description="Cap in seconds of a task retry delay."
    )

    # --- HTTP API (`sfsync serve`) ------------------------------------------------------
    sf_organization_id: str | None = Field(
        None,
        description="Salesforce org id (00D…) whose Outbound Messages are accepted; unset: none.",
    )
    api_max_body_bytes: int = Field(
        1_048_576, ge=1024, description="Largest accepted HTTP request body, in bytes."
    )
    api_request_timeout: float = Field(
        30.0, gt=0, description="Seconds an HTTP request may take before it is answered 503."
    )

    @field_validator("sf_alias_fields", mode="before")
    @classmethod
    def _split_alias_fields(cls, value: Any) -> Any:
        return _split_list(value)

    @field_validator("sf_organization_id")
    @classmethod
    def _organization_id(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"00D[0-9A-Za-z]{12}([0-9A-Za-z]{3})?", value):
            raise ValueError(
                "must be a Salesforce organization id: 00D and 12 or 15 more characters"
            )
        return value

    @field_validator("default_currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Z]{3}", value):
            raise ValueError("must be an ISO 4217 code of three upper-case letters, e.g. USD")
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return upper

    @model_validator(mode="after")
    def _lease_below_visibility(self) -> Settings:
        if self.task_retry_backoff_max >= self.broker_visibility_timeout:
            raise ValueError(
                "SFSYNC_TASK_RETRY_BACKOFF_MAX must be below SFSYNC_BROKER_VISIBILITY_TIMEOUT, "
                "or retried messages are redelivered again and again"
            )
        return self

    # --- derived -------------------------------------------------------------------------
    @property
    def store_url(self) -> str:
        """The store's SQLAlchemy URL (SQLite in the data folder unless configured)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'sfsync.db').resolve()}"

    @property
    def celery_broker_url(self) -> str:
        """The broker URL (kombu filesystem transport in the data folder unless configured)."""
        return self.broker_url or "filesystem://"

    @property
    def broker_folder(self) -> Path:
        """Folder used by the filesystem transport."""
        return (self.data_dir / "broker").resolve()

    def secret_values(self) -> list[str]:
        """Every configured secret, for redaction."""
        secrets: list[str] = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                raw = value.get_secret_value()
                if raw:
                    secrets.append(raw)
        for url in (self.database_url, self.broker_url):
            password = _url_password(url)
            if password:
                secrets.append(password)
        return secrets


def _url_password(url: str | None) -> str | None:
    if not url:
        return None
    match = re.match(r"^[a-z0-9+]+://[^:/@]*:([^@/]+)@", url)
    return match.group(1) if match else None


def load_settings(**overrides: Any) -> Settings:
    """Build the settings from the environment (and overrides), or raise `ConfigError`.

    The error's message is one line naming the variable and what is wrong with it.
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None


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
