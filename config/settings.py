"""The one `Settings` object: every knob sfsync has, read once from the environment.

Errors::

    ConfigError            a setting is missing, malformed or inconsistent (exit code 2),
                           or the data folder cannot be created

Everything else in the project receives a `Settings` instance; nothing else reads
`os.environ`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from platformdirs import user_data_dir
from pydantic import (
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

__all__ = [
    "ENV_PREFIX",
    "ConfigError",
    "Settings",
    "default_data_dir",
]

from sfsync.config.logging import LogFormat
from sfsync.config.mapping_file import MappingFileSource
from sfsync.config.mapping_schema import FieldCopy, ProductMapping, soql_condition
from sfsync.config.values import (
    broker_url,
    currency_code,
    database_url,
    log_level,
    mask_url_password,
    organization_id,
    outbound_token,
    split_list,
    url_password,
)

ENV_PREFIX = "SFSYNC_"


class ConfigError(Exception):
    """A setting is missing, malformed or inconsistent; the message names the variable."""


def default_data_dir() -> Path:
    """The platform's user data folder for sfsync: state never depends on the current folder
    (`~/.local/share/sfsync` on Linux, `~/Library/Application Support/sfsync` on macOS)."""
    return Path(user_data_dir("sfsync", appauthor=False))


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
    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Folder for the embedded store, broker and beat schedule; default: the "
        "platform's user data folder (`~/.local/share/sfsync` on Linux).",
    )
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
    sf_multi_currency: bool | None = Field(
        None,
        description="Override: the org has CurrencyIsoCode on records (true) or not (false); "
        "unset: read from the org's describe of Opportunity.",
    )
    sf_opportunity_filter: str | None = Field(
        None,
        description="Extra SOQL condition a closed-won opportunity must meet to count, e.g. "
        "Type != 'Renewal'.",
    )

    # --- mapping -------------------------------------------------------------------------
    config: Path | None = Field(
        None,
        description="The mapping file; default: ./sfsync.toml, else sfsync.toml in the data "
        "folder (see README, The mapping file).",
    )
    field_copies: list[FieldCopy] = Field(
        default_factory=list,
        description="Account/Opportunity fields copied into customer/contract custom fields "
        "(JSON list of {from, to}; usually `[[copy]]` in sfsync.toml).",
    )
    products: ProductMapping = Field(
        default_factory=ProductMapping,
        description="How a line's product gets its type and metric (JSON; usually "
        "`[products]` in sfsync.toml).",
    )
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
    default_currency: str | None = Field(
        None,
        description="Currency for records without one, overriding the org's default currency.",
    )

    # --- sync ----------------------------------------------------------------------------
    poll_interval: int = Field(300, ge=1, description="Seconds between beat-driven polls.")
    sync_lookback_seconds: int = Field(600, ge=0, description="Seconds re-read before the cursor.")
    sync_start: datetime | None = Field(
        None, description="First cursor (ISO 8601); default: everything."
    )
    sync_lease_seconds: int = Field(120, ge=5, description="Lease length of a running poll.")
    writeback_max_per_poll: int = Field(
        100, ge=1, description="Most writeback calls one poll makes; the rest wait for the next."
    )
    reconcile_interval: int = Field(
        86400, ge=60, description="Seconds between reconciliations of won deals with the store."
    )

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
    task_retry_backoff_base: float = Field(
        10, gt=0, description="First task retry delay in seconds; each retry doubles it."
    )
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
    api_key_cache_seconds: float = Field(
        5.0,
        ge=0,
        le=300,
        description="Seconds a server remembers an API key it found valid, asking the store "
        "nothing meanwhile: a revoked key is refused within this time; 0: no cache.",
    )
    sf_outbound_message_token: SecretStr | None = Field(
        None,
        description="Secret path segment of the Outbound Message endpoint URL (at least 32 "
        "characters); unset: every message is refused.",
    )
    sf_outbound_enqueues_per_minute: int = Field(
        600, ge=1, description="Most deals one org's Outbound Messages may queue per minute."
    )
    sf_notification_retention_days: int = Field(
        30, ge=1, description="Days an Outbound Message notification id is kept for redeliveries."
    )
    api_header_timeout: float = Field(
        10.0, gt=0, description="Seconds a client has to send a request's headers."
    )
    api_keep_alive_timeout: int = Field(
        5, ge=1, description="Seconds an idle keep-alive connection stays open."
    )
    api_max_connections: int = Field(
        500, ge=1, description="Open connections per server process; past it requests get 503."
    )

    @field_validator("sf_alias_fields", mode="before")
    @classmethod
    def _split_alias_fields(cls, value: Any) -> Any:
        return split_list(value)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then the environment and .env, then the mapping file, then defaults."""
        assert isinstance(init_settings, InitSettingsSource)
        mapping = MappingFileSource(settings_cls, init_settings.init_kwargs, default_data_dir())
        return init_settings, env_settings, dotenv_settings, mapping, file_secret_settings

    @field_validator("sf_opportunity_filter")
    @classmethod
    def _condition(cls, value: str | None) -> str | None:
        return soql_condition(value)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        return database_url(value)

    @field_validator("broker_url")
    @classmethod
    def _broker_url(cls, value: str | None) -> str | None:
        return broker_url(value)

    @field_validator("sf_organization_id")
    @classmethod
    def _organization_id(cls, value: str | None) -> str | None:
        return organization_id(value)

    @field_validator("sf_outbound_message_token")
    @classmethod
    def _outbound_token(cls, value: SecretStr | None) -> SecretStr | None:
        outbound_token(None if value is None else value.get_secret_value())
        return value

    @field_validator("default_currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        return currency_code(value)

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        return log_level(value)

    @model_validator(mode="after")
    def _retry_backoff_below_visibility(self) -> Settings:
        """A retry waits on the broker as an unacknowledged message with a countdown (ETA);
        Redis redelivers whatever stays unacknowledged past the visibility timeout, so a
        longest retry delay at or above it would hand the same retry out again and again."""
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
        # kombu warns on every connection when a URL names no host; the transport ignores it.
        return self.broker_url or "filesystem://localhost/"

    @property
    def broker_folder(self) -> Path:
        """Folder used by the filesystem transport."""
        return (self.data_dir / "broker").resolve()

    def ensure_data_dir(self) -> Path:
        """Create the data folder (sfsync owns it), or raise `ConfigError` saying why not."""
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise ConfigError(
                f"{ENV_PREFIX}DATA_DIR / --data-dir: cannot create the folder "
                f"{str(self.data_dir)!r}: {reason}"
            ) from None
        return self.data_dir

    @property
    def beat_schedule_file(self) -> Path:
        """Where `celery beat` keeps its schedule (in the data folder, never the current one)."""
        return (self.data_dir / "celerybeat-schedule").resolve()

    @property
    def public_broker_url(self) -> str:
        """The broker URL with its password masked, for anything that gets printed."""
        return mask_url_password(self.celery_broker_url)

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
            password = url_password(url)
            if password:
                secrets.append(password)
        return secrets
