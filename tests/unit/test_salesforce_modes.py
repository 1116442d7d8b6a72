"""Choosing the auth mode from the settings, and naming what an incomplete one lacks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sfsync.config import ConfigError
from sfsync.sync.salesforce import AuthMode, SalesforceClient, SalesforceConfigError, choose_mode
from sfsync.sync.salesforce.modes import login_url

KEY_FILE = Path("/nonexistent/server.key")
USER = {"sf_username": "u@acme.com"}
PASSWORD = {"sf_password": "pw"}
TOKEN = {"sf_security_token": "tok"}
APP = {"sf_consumer_key": "key", "sf_consumer_secret": "secret"}


@pytest.mark.parametrize(
    ("values", "mode"),
    [
        ({**USER, **PASSWORD, **TOKEN}, AuthMode.SOAP),
        ({**USER, **PASSWORD, **APP}, AuthMode.PASSWORD),
        ({**USER, **PASSWORD, **TOKEN, **APP}, AuthMode.PASSWORD),
        ({**USER, "sf_consumer_key": "key", "sf_private_key_file": KEY_FILE}, AuthMode.JWT),
        ({**APP, "sf_domain": "acme.my"}, AuthMode.CLIENT_CREDENTIALS),
        ({**APP, "sf_login_url": "https://acme.my.salesforce.com"}, AuthMode.CLIENT_CREDENTIALS),
        (
            {"sf_access_token": "t", "sf_instance_url": "https://x.my.salesforce.com"},
            AuthMode.TOKEN,
        ),
        ({"sf_refresh_token": "r", "sf_consumer_key": "key"}, AuthMode.TOKEN),
    ],
)
def test_complete_combinations_choose_their_mode(
    make_settings, values: dict[str, Any], mode
) -> None:
    """Which settings are present decides the auth mode."""
    assert choose_mode(make_settings(**values)) is mode


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({}, "SFSYNC_SF_USERNAME"),
        (USER, "SFSYNC_SF_PASSWORD"),
        ({**USER, **PASSWORD}, "SFSYNC_SF_SECURITY_TOKEN"),
        ({**USER, **PASSWORD, "sf_consumer_key": "key"}, "SFSYNC_SF_CONSUMER_SECRET"),
        ({**USER, "sf_consumer_key": "key"}, "SFSYNC_SF_PRIVATE_KEY_FILE"),
        ({"sf_consumer_key": "key"}, "SFSYNC_SF_CONSUMER_SECRET"),
        ({"sf_consumer_secret": "s"}, "SFSYNC_SF_CONSUMER_KEY"),
        (PASSWORD, "SFSYNC_SF_USERNAME"),
        ({"sf_access_token": "t"}, "SFSYNC_SF_INSTANCE_URL"),
        ({"sf_refresh_token": "r"}, "SFSYNC_SF_CONSUMER_KEY"),
        ({"sf_instance_url": "https://x.my.salesforce.com"}, "SFSYNC_SF_ACCESS_TOKEN"),
        (APP, "SFSYNC_SF_DOMAIN"),
    ],
)
def test_incomplete_combinations_name_the_missing_variables(
    make_settings, values: dict[str, Any], named: str
) -> None:
    """An incomplete combination is a config error that names what to set."""
    with pytest.raises(SalesforceConfigError, match=named) as caught:
        choose_mode(make_settings(**values))
    assert isinstance(caught.value, ConfigError)


def test_the_client_refuses_incomplete_settings_at_construction(make_settings) -> None:
    """Misconfiguration fails fast, before any request."""
    with pytest.raises(SalesforceConfigError):
        SalesforceClient(make_settings(**USER))


def test_an_unreadable_private_key_file_names_the_setting(make_settings) -> None:
    """The JWT key is read up front; a missing file names SFSYNC_SF_PRIVATE_KEY_FILE."""
    settings = make_settings(**USER, sf_consumer_key="key", sf_private_key_file=KEY_FILE)
    with pytest.raises(SalesforceConfigError, match="SFSYNC_SF_PRIVATE_KEY_FILE"):
        SalesforceClient(settings)


def test_a_file_that_is_not_a_pem_key_names_the_setting(make_settings, tmp_path: Path) -> None:
    """A key file with the wrong content is a config error too."""
    path = tmp_path / "key.txt"
    path.write_text("not a key")
    settings = make_settings(**USER, sf_consumer_key="key", sf_private_key_file=path)
    with pytest.raises(SalesforceConfigError, match="not a PEM private key"):
        SalesforceClient(settings)


@pytest.mark.parametrize(
    ("values", "url"),
    [
        ({}, "https://login.salesforce.com"),
        ({"sf_domain": "test"}, "https://test.salesforce.com"),
        ({"sf_domain": "acme.my"}, "https://acme.my.salesforce.com"),
        ({"sf_login_url": "http://127.0.0.1:8080/"}, "http://127.0.0.1:8080"),
    ],
)
def test_login_url_follows_domain_unless_overridden(make_settings, values, url: str) -> None:
    """Domain picks login/test/My Domain; SFSYNC_SF_LOGIN_URL wins."""
    assert login_url(make_settings(**values)) == url
