"""The console over HTTP: sign-in, cookies, CSRF, scopes, escaping, replay and discard."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sfsync.api import create_app
from sfsync.api.queue import Enqueuer
from sfsync.config import Settings
from sfsync.models import Store
from sfsync.models.contracts.records import create_contract
from sfsync.models.contracts.terms import ContractTerms
from sfsync.models.customers.records import create_customer
from sfsync.models.operations.api_keys import create_key, revoke_key
from sfsync.models.operations.deadletters import Failure, add_letter, add_letters, get_letter
from sfsync.models.operations.runs import RunCounters, finish_run, start_run
from sfsync.models.tables import SyncCursor, UsageEvent
from sfsync.models.types import (
    ApiScope,
    DeadLetterSource,
    DeadLetterStatus,
    RunStatus,
    RunTrigger,
    Stream,
)
from sfsync.sandbox import SandboxOrg
from tests.unit.factories import open_deal_letter
from tests.worker.conftest import Launch

MARKUP = "<script>alert('x')</script>"
PAGES = (
    "/console",
    "/console/runs",
    "/console/runs/1",
    "/console/letters",
    "/console/letters/1",
    "/console/usage",
    "/console/usage/customer?customer=acme-eu",
    "/console/customers?q=acme",
)


class RecordingEnqueuer(Enqueuer):
    """The real producer's interface; replays are recorded instead of sent to a broker, and
    a worker is said to consume their queue (tests/worker asks real workers)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.replays: list[int] = []
        self.actors: list[str | None] = []

    def replay_letter(self, letter_id: int, actor: str | None = None) -> None:
        self.replays.append(letter_id)
        self.actors.append(actor)

    def idle_replay_queue(self) -> str | None:
        return None


@pytest.fixture
def console(store: Store, tmp_path: Path) -> Iterator[tuple[TestClient, RecordingEnqueuer]]:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", database_url=store.url)
    enqueuer = RecordingEnqueuer(settings)
    with store.session() as s:
        create_customer(s, f"Acme {MARKUP}", aliases=["acme-eu"])
        run = start_run(s, Stream.OPPORTUNITIES, RunTrigger.MANUAL, None)
        finish_run(s, run.id, RunStatus.SUCCEEDED, RunCounters(records_seen=3), None)
        for n in range(3):
            add_letter(
                s,
                Failure(
                    source=DeadLetterSource.OPPORTUNITY,
                    reference=f"0065g00000000{n:02d}AAA",
                    error_class="MappingError",
                    error_message=f"no account {MARKUP}",
                    payload={"Name": MARKUP},
                ),
            )
    app = create_app(settings, store=store, enqueuer=enqueuer)
    with TestClient(app, base_url="http://testserver") as client:
        yield client, enqueuer


def key(store: Store, scope: ApiScope) -> str:
    with store.session() as s:
        return create_key(s, f"console-{scope.value}", scope).token


def sign_in(client: TestClient, token: str) -> str:
    """Sign in through the form; returns the session's CSRF token."""
    form = client.get("/console/login")
    login_token = re.search(r'name="token" value="([^"]+)"', form.text)
    assert login_token
    answer = client.post(
        "/console/login",
        data={"key": token, "token": login_token.group(1), "next": "/console"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    page = client.get("/console")
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert csrf
    return csrf.group(1)


def test_signed_out_every_page_redirects_to_sign_in(console: tuple[TestClient, object]) -> None:
    """Nothing is visible without a session: each page answers 303 to the sign-in form."""
    client, _ = console
    for path in PAGES:
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/console/login?next=")
        assert "Acme" not in answer.text
    answer = client.post("/console/letters/1/replay", data={"csrf": "x"}, follow_redirects=False)
    assert answer.status_code == 303


def test_session_cookie_is_httponly_and_samesite_strict(
    console: tuple[TestClient, object], store: Store
) -> None:
    """The key lives only in an HttpOnly, SameSite=Strict cookie scoped to /console."""
    client, _ = console
    form = client.get("/console/login")
    login_token = re.search(r'name="token" value="([^"]+)"', form.text)
    assert login_token
    token = key(store, ApiScope.READ)
    answer = client.post(
        "/console/login",
        data={"key": token, "token": login_token.group(1)},
        follow_redirects=False,
    )
    cookie = next(
        v for k, v in answer.headers.multi_items() if k == "set-cookie" and "sfsync_console=" in v
    )
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    assert token not in client.get("/console").text


def test_sign_in_refuses_bad_keys_and_a_missing_form_token(
    console: tuple[TestClient, object], store: Store
) -> None:
    """Unknown, revoked and ingest-only keys, and a post without the form's token, stay out."""
    client, _ = console
    for token in ("sfsync_nope_nope", key(store, ApiScope.INGEST)):
        form = client.get("/console/login")
        login_token = re.search(r'name="token" value="([^"]+)"', form.text)
        assert login_token
        answer = client.post("/console/login", data={"key": token, "token": login_token.group(1)})
        assert answer.status_code == 401
        assert client.get("/console", follow_redirects=False).status_code == 303
    forged = client.post("/console/login", data={"key": key(store, ApiScope.ADMIN), "token": "x"})
    assert forged.status_code == 401
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_a_read_key_sees_everything_but_no_buttons_and_cannot_post(
    console: tuple[TestClient, RecordingEnqueuer], store: Store
) -> None:
    """Every page renders for `read`; no Replay/Discard; a POST with its own CSRF is 403."""
    client, enqueuer = console
    csrf = sign_in(client, key(store, ApiScope.READ))
    for path in PAGES:
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.text)
    letter = client.get("/console/letters/1").text
    assert 'id="replay"' not in letter and 'id="discard"' not in letter
    assert 'id="bulk-replay"' not in client.get("/console/letters").text
    answer = client.post("/console/letters/1/replay", data={"csrf": csrf})
    assert answer.status_code == 403
    assert enqueuer.replays == []
    with store.session() as s:
        assert get_letter(s, 1).status is DeadLetterStatus.OPEN


def test_a_missing_record_or_bad_filter_is_an_html_page(
    console: tuple[TestClient, object], store: Store
) -> None:
    """Signed in, an unknown letter is a 404 page and a bad filter a 400 page, not JSON."""
    client, _ = console
    sign_in(client, key(store, ApiScope.READ))
    missing = client.get("/console/letters/999")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "no dead letter 999" in missing.text
    bad = client.get("/console/runs?status=bogus")
    assert bad.status_code == 400
    assert "unknown RunStatus" in bad.text
    api = client.get(
        "/v1/customers/00000000-0000-0000-0000-000000000000",
        headers={"Authorization": f"Bearer {key(store, ApiScope.READ)}"},
    )
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/json")  # the API keeps JSON


def test_every_value_is_escaped(console: tuple[TestClient, object], store: Store) -> None:
    """Markup in names, errors and payloads is shown as text, never as markup."""
    client, _ = console
    sign_in(client, key(store, ApiScope.READ))
    found = client.get("/console/customers?q=acme-eu").text
    link = re.search(r'href="(/console/customers/[0-9a-f-]{36})"', found)
    assert link
    for path in ("/console/letters", "/console/letters/1", link.group(1)):
        text = client.get(path).text
        assert MARKUP not in text, path
        assert "&lt;script&gt;" in text, path
    detail = client.get(link.group(1)).text
    assert "acme-eu" in detail and 'id="customer-status"' in detail


def test_admin_replays_discards_and_bulk_replays_with_csrf(
    console: tuple[TestClient, RecordingEnqueuer], store: Store
) -> None:
    """Replay enqueues the letter; discard needs a reason; forged tokens change nothing."""
    client, enqueuer = console
    csrf = sign_in(client, key(store, ApiScope.ADMIN))
    assert 'id="replay"' in client.get("/console/letters/1").text
    assert client.post("/console/letters/1/replay", data={}).status_code == 403
    assert client.post("/console/letters/1/replay", data={"csrf": "0" * 64}).status_code == 403
    assert enqueuer.replays == []
    answer = client.post("/console/letters/1/replay", data={"csrf": csrf}, follow_redirects=False)
    assert answer.status_code == 303
    assert enqueuer.replays == [1]
    assert enqueuer.actors == ["console:console-admin"]  # the signed-in key's name
    empty = client.post("/console/letters/2/discard", data={"csrf": csrf, "reason": " "})
    assert empty.status_code == 400
    client.post("/console/letters/2/discard", data={"csrf": csrf, "reason": "test deal"})
    with store.session() as s:
        letter = get_letter(s, 2)
        assert letter.status is DeadLetterStatus.DISCARDED
        assert letter.discard_reason == "test deal"
        assert letter.actor == "console:console-admin"
    bulk = client.post(
        "/console/letters/replay", data={"csrf": csrf, "source": "salesforce.opportunity"}
    )
    assert bulk.status_code == 200
    assert sorted(enqueuer.replays) == [1, 1, 3]  # letter 2 is discarded, no longer open
    out = client.post("/console/logout", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_the_overview_shows_the_last_reconciliations_drift(
    console: tuple[TestClient, RecordingEnqueuer], store: Store
) -> None:
    """The drift a reconciliation recorded (missing, extra, changed) is on the overview."""
    client, _ = console
    with store.session() as s:
        run = start_run(s, Stream.RECONCILE, RunTrigger.BEAT, None)
        drift = RunCounters(drift_missing=4, drift_extra=2, drift_changed=1)
        finish_run(s, run.id, RunStatus.SUCCEEDED, drift, None)
    sign_in(client, key(store, ApiScope.READ))
    page = client.get("/console").text
    found = re.search(r'<p id="drift">(.*?)</p>', page, re.S)
    assert found is not None
    assert " ".join(found.group(1).split()).endswith("drift 4 missing, 2 extra, 1 changed.")


def test_a_customer_page_shows_alias_sources_and_contract_history(
    console: tuple[TestClient, RecordingEnqueuer], store: Store
) -> None:
    """Each alias says where it came from; each contract lists its revisions."""
    client, _ = console
    with store.session() as s:
        customer = create_customer(s, "Globex", aliases=["globex-eu"])
        create_contract(
            s,
            customer.id,
            ContractTerms(
                name="Globex 2027",
                starting_at=datetime(2027, 1, 1, tzinfo=UTC),
                ending_before=None,
                amount=Decimal("20630"),
                currency="EUR",
            ),
        )
    sign_in(client, key(store, ApiScope.READ))
    page = client.get(f"/console/customers/{customer.id}").text
    assert re.search(r"globex-eu</td><td>[^<]*</td>\s*<td>manual</td>", page), page
    assert "history: 1 revision(s)" in page and "<td>created</td>" in page
    assert "20630 EUR" in page


def test_next_after_sign_in_stays_inside_the_console(
    console: tuple[TestClient, object], store: Store
) -> None:
    """An absolute `next` cannot send a signed-in operator elsewhere."""
    client, _ = console
    form = client.get("/console/login?next=https://evil.example/")
    login_token = re.search(r'name="token" value="([^"]+)"', form.text)
    assert login_token
    answer = client.post(
        "/console/login",
        data={
            "key": key(store, ApiScope.READ),
            "token": login_token.group(1),
            "next": "https://evil.example/",
        },
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/console"


def test_a_replay_with_no_worker_says_no_worker_is_consuming_default(
    store: Store, tmp_path: Path
) -> None:
    """The embedded broker with no worker: the notice says so, not "reload to see"."""
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", database_url=store.url)
    letter = open_deal_letter(store)
    with TestClient(create_app(settings, store=store), base_url="http://testserver") as client:
        csrf = sign_in(client, key(store, ApiScope.ADMIN))
        answer = client.post(f"/console/letters/{letter}/replay", data={"csrf": csrf})
        bulk = client.post("/console/letters/replay", data={"csrf": csrf})
    assert answer.status_code == 200
    assert "no worker is consuming `default`" in answer.text
    assert "reload to see" not in answer.text
    assert "no worker is consuming `default`" in bulk.text


def test_a_replay_with_a_worker_consuming_default_points_at_the_outcome(
    store: Store, launch: Launch, tmp_path: Path
) -> None:
    """A real worker on the queue: the letter page's notice, and the worker replays it."""
    with SandboxOrg(seed=2, opportunities=0) as org:
        procs = launch(org)
        settings = Settings(
            _env_file=None,
            data_dir=tmp_path / "data",
            database_url=store.url,
            broker_url=procs.env["SFSYNC_BROKER_URL"],
        )
        letter = open_deal_letter(store)
        procs.worker()
        enqueuer = Enqueuer(settings)
        procs.wait_for(
            lambda: enqueuer.idle_replay_queue() is None, what="the worker to consume `default`"
        )
        with TestClient(create_app(settings, store=store, enqueuer=enqueuer)) as client:
            csrf = sign_in(client, key(store, ApiScope.ADMIN))
            answer = client.post(
                f"/console/letters/{letter}/replay", data={"csrf": csrf}, follow_redirects=False
            )
            assert answer.status_code == 303
            assert answer.headers["location"].endswith("?replay=enqueued")
            assert "reload to see its outcome" in client.get(answer.headers["location"]).text

        def attempted() -> bool:
            with store.session() as s:
                found = get_letter(s, letter)
                return found.attempts > 1 or found.status is not DeadLetterStatus.OPEN

        procs.wait_for(attempted, what="the worker to replay the letter")


DASH = "\N{EN DASH}"


def table_rows(html: str, table_id: str) -> int:
    """Data rows of the table with this id (its header row aside)."""
    start = html.index(f'<table id="{table_id}">')
    body = html[start : html.index("</table>", start)]
    return body.count("<tr") - 1


def pager(html: str, pager_id: str) -> tuple[str, str | None, str | None]:
    """A page's "first-last of total" (an en dash between) and its previous and next links."""
    start = html.index(f'id="{pager_id}"')
    block = html[start : html.index("</p>", start)]
    count = re.search(r'class="pager-count">([^<]+)<', block)
    assert count
    links = {
        rel: href.replace("&amp;", "&")
        for href, rel in re.findall(r'href="([^"]+)" rel="(prev|next)"', block)
    }
    return count.group(1), links.get("prev"), links.get("next")


def test_long_lists_page_and_say_how_many_of_how_many(
    console: tuple[TestClient, RecordingEnqueuer], store: Store
) -> None:
    """522 letters, 501 pending keys and 101 runs: each list's first page says "1-N of M"
    and links to the next page, which holds the rest and links back; filters are kept."""
    client, _ = console
    with store.session() as s:
        add_letters(
            s,
            [
                Failure(DeadLetterSource.USAGE_EVENT, "E", "bad", reference=f"tx-{n}")
                for n in range(519)
            ],
        )
        for _ in range(100):
            run = start_run(s, Stream.ACCOUNTS, RunTrigger.BEAT, None)
            finish_run(s, run.id, RunStatus.SUCCEEDED, RunCounters(), None)
        s.add_all(
            UsageEvent(
                transaction_id=f"pending-{n}",
                customer_key=f"nobody-{n:03d}",
                event_type="api_call",
                timestamp=datetime(2026, 11, 20, tzinfo=UTC),
                properties={},
            )
            for n in range(501)
        )
    sign_in(client, key(store, ApiScope.READ))
    lists = [
        ("/console/letters?status=open", "letters", "letters-pager", 522, 500),
        ("/console/usage", "pending-keys", "keys-pager", 501, 500),
        ("/console/runs", "runs", "runs-pager", 101, 100),
    ]
    for url, table, pager_id, total, size in lists:
        first = client.get(url).text
        assert table_rows(first, table) == size, url
        shown, previous, following = pager(first, pager_id)
        assert (shown, previous) == (f"1{DASH}{size} of {total}", None), url
        assert following is not None
        rest = client.get(following).text
        assert table_rows(rest, table) == total - size, following
        shown, previous, following = pager(rest, pager_id)
        assert (shown, following) == (f"{size + 1}{DASH}{total} of {total}", None), url
        assert previous is not None and client.get(previous).text.count("<tr") == first.count("<tr")
    # The filter travels with the page: the next page of open letters lists only open ones.
    first = client.get("/console/letters?status=discarded").text
    assert pager(first, "letters-pager") == ("0 of 0", None, None)
    _, _, following = pager(client.get("/console/letters?status=open").text, "letters-pager")
    assert following is not None and "status=open" in following


def test_the_overview_shows_freshness_not_the_cursors_age_after_a_quiet_period(
    console: tuple[TestClient, RecordingEnqueuer], store: Store
) -> None:
    """The newest change is five days old but a run just succeeded: the overview says the
    stream is seconds fresh, with no backlog, and nowhere five days behind."""
    client, _ = console
    with store.session() as s:
        s.add(
            SyncCursor(stream=Stream.OPPORTUNITIES, position=datetime.now(UTC) - timedelta(days=5))
        )
    sign_in(client, key(store, ApiScope.READ))
    page = client.get("/console").text
    start = page.index('<table id="streams">')
    streams = page[start : page.index("</table>", start)]
    row = streams[streams.index("<td>opportunities</td>") :]
    freshness = re.search(r'<td class="freshness">([^<]*)</td>', row)
    backlog = re.search(r'<td class="backlog">([^<]*)</td>', row)
    assert freshness and re.fullmatch(r"\d+s", freshness.group(1)), freshness
    assert backlog and backlog.group(1) == "-"
    assert "5d" not in streams and ">lag<" not in streams


def _session_cookie(client: TestClient) -> str:
    value = client.cookies.get("sfsync_console")
    assert isinstance(value, str) and value
    return value


def test_the_cookie_holds_a_session_id_and_sign_out_ends_the_session_server_side(
    console: tuple[TestClient, object], store: Store
) -> None:
    """The cookie is not the key; after sign-out its value signs nobody in, even when replayed."""
    client, _ = console
    token = key(store, ApiScope.READ)
    csrf = sign_in(client, token)
    stolen = _session_cookie(client)
    assert token not in stolen and stolen not in token
    client.post("/console/logout", data={"csrf": csrf}, follow_redirects=False)
    client.cookies.set("sfsync_console", stolen, path="/console")
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_a_revoked_key_ends_its_console_sessions(
    console: tuple[TestClient, object], store: Store
) -> None:
    """A session lives only as long as the key it was opened with."""
    client, _ = console
    token = key(store, ApiScope.READ)
    sign_in(client, token)
    assert client.get("/console", follow_redirects=False).status_code == 200
    with store.session() as s:
        revoke_key(s, token.removeprefix("sfsync_").partition("_")[0])
    assert client.get("/console", follow_redirects=False).status_code == 303


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/console/letters/99999999999999999999999"),
        ("GET", "/console/runs/99999999999999999999999"),
        ("GET", "/console/runs/9223372036854775808"),
        ("POST", "/console/letters/99999999999999999999999/replay"),
        ("POST", "/console/letters/99999999999999999999999/discard"),
        ("GET", "/console/letters?since=0001-01-01T00:00:00%2B01:00"),
        ("GET", "/console/usage/customer?customer=acme-eu&to=9999-12-31T23:59:59-05:00"),
        ("GET", "/console/usage/customer?customer=acme-eu&from=0001-01-01T00:00:00%2B14:00"),
    ],
)
def test_ids_past_64_bits_and_dates_outside_utc_are_one_line_400s(
    console: tuple[TestClient, object], store: Store, method: str, path: str
) -> None:
    """Ids over 64 bits in console URLs and filter dates with no UTC instant: 400, not 500."""
    client, _ = console
    csrf = sign_in(client, key(store, ApiScope.ADMIN))
    answer = client.request(
        method, path, data={"csrf": csrf, "reason": "r"} if method == "POST" else None
    )
    assert answer.status_code == 400, answer.text
    assert "Traceback" not in answer.text


def test_replay_with_the_broker_down_is_a_503_page_and_the_letter_stays_open(
    store: Store, tmp_path: Path
) -> None:
    """A real producer against a broker nobody listens on: 503 saying so, nothing changed."""
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path / "data",
        database_url=store.url,
        broker_url="redis://127.0.0.1:1/0",
    )
    with store.session() as s:
        letter = add_letter(
            s,
            Failure(
                source=DeadLetterSource.OPPORTUNITY,
                reference="0065g0000000099AAA",
                error_class="MappingError",
                error_message="no account",
                payload={},
            ),
        )
    app = create_app(settings, store=store, enqueuer=Enqueuer(settings))
    with TestClient(app, base_url="http://testserver") as client:
        csrf = sign_in(client, key(store, ApiScope.ADMIN))
        one = client.post(f"/console/letters/{letter.id}/replay", data={"csrf": csrf})
        bulk = client.post("/console/letters/replay", data={"csrf": csrf})
    for answer in (one, bulk):
        assert answer.status_code == 503, answer.text
        assert "broker" in answer.text and "Traceback" not in answer.text
    with store.session() as s:
        assert get_letter(s, letter.id).status is DeadLetterStatus.OPEN
