"""`sfsync api-keys create|list|revoke`: the secret is printed once and never stored."""

from __future__ import annotations

from sfsync.models import Store
from sfsync.models.operations.api_keys import authenticate
from sfsync.models.tables import ApiKey
from tests.cli.conftest import Invoke, ok_json


def test_create_prints_a_working_secret_once_and_list_never_shows_it(
    sfsync: Invoke, store: Store
) -> None:
    """The token authenticates with its scope; `list` and the table hold no trace of it."""
    created = ok_json(sfsync("api-keys", "create", "billing-svc", "--scope", "ingest", "--json"))
    token = created["token"]
    assert created["scope"] == "ingest" and token.startswith("sfsync_")
    with store.session() as s:
        principal = authenticate(s, token)
        rows = s.query(ApiKey).all()
    assert principal is not None and principal.scope == "ingest"
    listed = sfsync("api-keys", "list", "--json")
    table = sfsync("api-keys", "list")
    secret = token.rsplit("_", 1)[1]
    for output in (listed.stdout, table.stdout):
        assert secret not in output
    assert [k["name"] for k in ok_json(listed)] == ["billing-svc"]
    assert all(secret not in (r.secret_sha256 + r.name + r.key_id) for r in rows)


def test_plain_create_prints_the_token_on_its_own_line(sfsync: Invoke, store: Store) -> None:
    """Without --json the token is one line a script can take."""
    result = sfsync("api-keys", "create", "ops", "--scope", "admin")
    assert result.exit_code == 0
    token = result.stdout.strip().splitlines()[-1]
    with store.session() as s:
        assert authenticate(s, token) is not None


def test_revoke_stops_the_key(sfsync: Invoke, store: Store) -> None:
    """A revoked key authenticates nothing; revoking an unknown id is an error naming it."""
    created = ok_json(sfsync("api-keys", "create", "old", "--scope", "read", "--json"))
    revoked = ok_json(sfsync("api-keys", "revoke", created["key_id"], "--json"))
    assert revoked["revoked_at"] is not None
    with store.session() as s:
        assert authenticate(s, created["token"]) is None
    missing = sfsync("api-keys", "revoke", "nosuchkey")
    assert missing.exit_code == 1 and "nosuchkey" in missing.stderr


def test_an_unknown_scope_is_a_usage_error(sfsync: Invoke) -> None:
    """Scopes are ingest, read, write and admin."""
    result = sfsync("api-keys", "create", "x", "--scope", "root")
    assert result.exit_code == 2


def test_list_into_a_pipe_prints_tab_separated_rows(sfsync: Invoke, store: Store) -> None:
    """Piped, `api-keys list` gives one tab-separated row per key, no box drawing."""
    created = ok_json(sfsync("api-keys", "create", "billing-svc", "--scope", "read", "--json"))
    out = sfsync("api-keys", "list").stdout
    assert not any(ch in out for ch in "┃│━─┏┗")
    [row] = [line.split("\t") for line in out.splitlines()]
    assert row[:3] == [created["key_id"], "billing-svc", "read"]
