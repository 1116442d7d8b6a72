"""Settings and logging: one line per bad setting, secrets redacted from every record."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from sfsync.config import (
    ConfigError,
    RedactSecretsFilter,
    Settings,
    configure_logging,
    load_settings,
)


def test_bad_setting_is_one_line_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """A malformed value raises ConfigError naming SFSYNC_<NAME>, never echoing secrets."""
    monkeypatch.setenv("SFSYNC_DEFAULT_CURRENCY", "euro")
    with pytest.raises(ConfigError) as info:
        load_settings(_env_file=None)
    assert "SFSYNC_DEFAULT_CURRENCY" in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("given", "kept"),
    [("  Type != 'Renewal' ", "Type != 'Renewal'"), ("", None), ("   ", None)],
)
def test_the_opportunity_filter_is_trimmed_and_blank_means_none(given: str, kept: str | None):
    """SFSYNC_SF_OPPORTUNITY_FILTER keeps the condition; an empty one is no filter."""
    assert load_settings(_env_file=None, sf_opportunity_filter=given).sf_opportunity_filter == kept


@pytest.mark.parametrize("given", ["WHERE Type = 'x'", "and Type = 'x'", "OR Type = 'x'"])
def test_an_opportunity_filter_with_a_leading_keyword_is_refused(given: str) -> None:
    """A filter is a condition only: a leading WHERE/AND/OR is one error naming the setting."""
    with pytest.raises(ConfigError, match="SFSYNC_SF_OPPORTUNITY_FILTER"):
        load_settings(_env_file=None, sf_opportunity_filter=given)


def test_retry_cap_must_stay_below_the_visibility_timeout() -> None:
    """A retry delay longer than the visibility timeout would redeliver forever: refused."""
    with pytest.raises(ConfigError, match="VISIBILITY_TIMEOUT"):
        load_settings(_env_file=None, task_retry_backoff_max=4000)


@pytest.mark.parametrize("token", ["short", "x" * 31, "has spaces " + "x" * 30, "é" * 40])
def test_an_outbound_message_token_too_short_or_unsafe_in_a_url_is_refused(token: str) -> None:
    """The listener's URL token needs 32+ URL-safe characters; the error never echoes it."""
    with pytest.raises(ConfigError, match="SFSYNC_SF_OUTBOUND_MESSAGE_TOKEN") as info:
        load_settings(_env_file=None, sf_outbound_message_token=token)
    assert token not in str(info.value)


@pytest.mark.parametrize(
    "org_id",
    ["00D5g000004ABCDZZZ", "00D5g000004ABC", "0015g000004ABCDEA4", "00D5g000004ABC!"],
)
def test_an_organization_id_the_listener_could_not_read_is_refused(org_id: str) -> None:
    """Not an org id by the one Salesforce id algorithm (a checksum that does not match, a
    wrong length or prefix): one line naming the setting, at start-up."""
    with pytest.raises(ConfigError, match="SFSYNC_SF_ORGANIZATION_ID"):
        load_settings(_env_file=None, sf_organization_id=org_id)


@pytest.mark.parametrize("org_id", ["00D5g000004ABCD", "00D5g000004ABCDEA4", "00d5g000004abcdEA4"])
def test_an_organization_id_of_15_or_18_characters_is_accepted(org_id: str) -> None:
    """Either form, an 18-character one in any case (its suffix restores the case)."""
    assert load_settings(_env_file=None, sf_organization_id=org_id).sf_organization_id == org_id


def test_the_outbound_message_token_is_a_secret() -> None:
    """It is redacted from logs with the other secrets."""
    token = "t" * 40
    assert token in load_settings(_env_file=None, sf_outbound_message_token=token).secret_values()


def test_secret_values_include_passwords_in_urls() -> None:
    """Configured secrets and the store's URL password are all known to the redactor."""
    settings = Settings(
        _env_file=None,
        sf_password="pw-1",
        sf_consumer_secret="cs-2",
        database_url="postgresql://u:db-pass@h/db",
    )
    assert {"pw-1", "cs-2", "db-pass"} <= set(settings.secret_values())


@pytest.fixture
def _restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield None
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("_restore_root_logger")
def test_log_records_are_redacted_in_message_args_and_tracebacks() -> None:
    """A secret logged as an argument or inside an exception never reaches the output."""
    redactor = configure_logging("INFO", ["s3cr3t-token"])
    logger = logging.getLogger("sfsync.test")
    records: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Capture()
    handler.addFilter(redactor)
    logger.addHandler(handler)
    try:
        logger.info("token is %s", "s3cr3t-token")
        try:
            raise RuntimeError("failed with s3cr3t-token")
        except RuntimeError:
            logger.exception("call failed")
    finally:
        logger.removeHandler(handler)
    output = "\n".join(records)
    assert "s3cr3t-token" not in output
    assert output.count("[REDACTED]") >= 2


def test_redactor_replaces_the_longest_secret_first() -> None:
    """A secret containing another is replaced whole."""
    assert RedactSecretsFilter(["abc", "abcdef"]).redact("x abcdef y") == "x [REDACTED] y"
