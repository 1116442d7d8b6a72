"""SandboxOrg: the facade that wires store, SOQL, auth, faults and the HTTP server together."""

from __future__ import annotations

import json
import threading
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from email.utils import format_datetime as http_date
from pathlib import Path
from types import TracebackType
from typing import Any

from sfsync.sandbox import seed as seeding
from sfsync.sandbox.clock import Clock
from sfsync.sandbox.control import PREFIX, handle_control
from sfsync.sandbox.faults import Faults
from sfsync.sandbox.oauth import Auth, generate_key_pair
from sfsync.sandbox.permissions import Access, FieldPermissions
from sfsync.sandbox.queries import QueryService
from sfsync.sandbox.responses import Request, Response
from sfsync.sandbox.rest import SalesforceApi
from sfsync.sandbox.schema import objects_for
from sfsync.sandbox.server import HttpServer
from sfsync.sandbox.store import RECYCLE_BIN_DAYS, Store
from sfsync.sandbox.timeouts import TimeoutRule
from sfsync.sandbox.usage import Usage

#: Where an org served in-process (`open_in_process`) says it lives: https, never resolved.
IN_PROCESS_URL = "https://sandbox.in-process.invalid"


class SandboxOrg:
    """A Salesforce-compatible org served over HTTP on loopback.

    Construction builds the data (seeded or loaded); start() binds the port, mints
    credentials and serves in a background thread; open_in_process() mints them for calls
    served inside this process instead (no socket). `multi_currency=False` makes a
    single-currency org (no CurrencyIsoCode on records; `currency` is the Organization's
    DefaultCurrencyIsoCode either way). A loaded org keeps the mode it was saved with.
    """

    def __init__(
        self,
        seed: int = 7,
        accounts: int | None = None,
        opportunities: int = 1000,
        host: str = "127.0.0.1",
        port: int = 0,
        load: str | Path | None = None,
        page_size: int = 2000,
        api_allowance: int = 1_000_000,
        token_lifetime: float | None = None,
        locator_idle_seconds: float = 900,
        multi_currency: bool = True,
        currency: str = "USD",
        recycle_bin_days: float | None = RECYCLE_BIN_DAYS,
    ) -> None:
        self.host = host
        self.port = port
        self.clock = Clock()
        data = json.loads(Path(load).read_text()) if load is not None else None
        if data is not None:
            saved = data.get("objects", {}).get("Organization") or [{}]
            multi_currency = bool(saved[0].get("IsMultiCurrencyOrg", True))
            currency = str(saved[0].get("DefaultCurrencyIsoCode") or currency)
        self.multi_currency = multi_currency
        self.store = Store(self.clock, None, objects_for(multi_currency), recycle_bin_days)
        if data is not None:
            self.store.restore(data)
        else:
            account_rows, opp_rows = seeding.generate(
                seed, accounts, opportunities, self.clock.now(), self.store.ids, multi_currency
            )
            self.store.bulk_load("Account", account_rows)
            self.store.bulk_load("Opportunity", opp_rows)
        if not self.store.rows("Organization"):
            row = seeding.organization(self.clock.now(), currency, multi_currency)
            self.store.bulk_load("Organization", [row])
        self.faults = Faults()
        self.usage = Usage(api_allowance)
        self.auth = Auth(self.clock, token_lifetime)
        self.queries = QueryService(
            self.store, self.clock, page_size, locator_idle_seconds, self.usage.count_query
        )
        self.queries.on_timeout = self.usage.count_timeout
        self._stopping = threading.Event()
        #: The integration user's field-level security (`set_field_access`).
        self.permissions = FieldPermissions()
        self.api = SalesforceApi(
            self.store,
            self.auth,
            self.queries,
            self.usage,
            self.faults.decide,
            self._stopping,
            self.permissions,
        )
        self._http: HttpServer | None = None
        self._thread: threading.Thread | None = None
        self.instance_url = ""
        self.login_url = ""
        self.access_token = ""
        self.refresh_token = ""
        self.private_key_pem: str | None = None
        self.public_key_pem: str | None = None

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> SandboxOrg:
        """Bind and serve in a daemon thread; returns self."""
        if self._http is not None:
            return self
        self._stopping.clear()
        self._http = HttpServer(self.host, self.port, self.handle)
        host, port = self._http.address
        self._open(f"http://{host}:{port}")
        self._thread = threading.Thread(
            target=self._http.serve_forever, name="sandbox-org", daemon=True
        )
        self._thread.start()
        return self

    def open_in_process(self, instance_url: str = IN_PROCESS_URL) -> SandboxOrg:
        """Ready the org to answer `handle()` calls in this process, as `instance_url`: its
        credentials and URLs, but no socket and no thread (`sandbox.client.in_process_session`
        mounts it in a requests session). Returns self."""
        self._stopping.clear()
        self._open(instance_url)
        return self

    def _open(self, instance_url: str) -> None:
        self.instance_url = self.login_url = instance_url
        self.auth.base_url = self.instance_url
        keys = generate_key_pair()
        if keys is not None:
            self.auth.keys = keys
            self.private_key_pem, self.public_key_pem = keys.private_pem, keys.public_pem
        self.access_token = self.auth.issue_access()
        self.refresh_token = self.auth.issue_refresh()

    def stop(self) -> None:
        """Stop serving; hung requests are released rather than waited for."""
        if self._http is None:
            return
        self._stopping.set()
        self._http.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._http = None
        self._thread = None

    def __enter__(self) -> SandboxOrg:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def handle(self, request: Request) -> Response | None:
        """Answer one request as the org's HTTP server does (None: drop the connection)."""
        if request.path == PREFIX or request.path.startswith(PREFIX + "/"):
            response: Response | None = handle_control(self, request)
        else:
            response = self.api.handle(request)
        if response is not None:
            # Salesforce's clock is the org clock, which tests move; clients may rely on it.
            response.headers["Date"] = http_date(self.clock.now(), usegmt=True)
        return response

    # -- credentials ---------------------------------------------------------------
    @property
    def consumer_key(self) -> str:
        """Connected app client id."""
        return self.auth.consumer_key

    @property
    def consumer_secret(self) -> str:
        """Connected app client secret."""
        return self.auth.consumer_secret

    @property
    def username(self) -> str:
        """The integration user."""
        return self.auth.username

    @property
    def password(self) -> str:
        """The integration user's password (without security token)."""
        return self.auth.password

    @property
    def security_token(self) -> str:
        """Appended to the password for SOAP and password-grant logins."""
        return self.auth.security_token

    def issue_token(self) -> str:
        """A fresh valid access token (e.g. after revoke_tokens())."""
        return self.auth.issue_access()

    def revoke_tokens(self, include_refresh: bool = False) -> None:
        """Invalidate every access token (refresh tokens too if asked)."""
        self.auth.revoke(include_refresh=include_refresh)

    def set_token_lifetime(self, seconds: float | None) -> None:
        """Access tokens older than this (on the org clock) are rejected; None = forever."""
        self.auth.token_lifetime = seconds

    # -- allowance and counters ----------------------------------------------------
    def set_api_allowance(self, n: int) -> None:
        """Change the daily API allowance."""
        self.usage.set_allowance(n)

    def reset_api_usage(self) -> None:
        """Start a fresh allowance window."""
        self.usage.reset_usage()

    def counters(self) -> dict[str, Any]:
        """Calls per kind, API calls against the allowance, query rows served, and query
        pages served per query shape (`sandbox.queries.query_shape`)."""
        return self.usage.snapshot()

    def reset_counters(self) -> None:
        """Zero the per-kind counters and rows served."""
        self.usage.reset_counters()

    def set_query_timeout(
        self, over_seconds: float | None, objects: Collection[str] | None = None
    ) -> None:
        """Fail non-selective queries on `objects` (default Opportunity and Account) whose
        SystemModstamp range is open or wider than `over_seconds` with QUERY_TIMEOUT;
        None turns it off. See `sandbox.timeouts`."""
        rule = None if over_seconds is None else TimeoutRule.build(over_seconds, objects)
        self.queries.timeout_rule = rule

    # -- permissions ---------------------------------------------------------------
    def set_field_access(self, sobject: str, field: str, access: Access | str) -> None:
        """Field-level security of the integration user: ``none`` hides the field from
        describe, queries and reads (INVALID_FIELD, as Salesforce answers); ``read`` makes
        it read-only; ``edit`` restores it. The control surface still sees every field."""
        self.permissions.set(self.store.objects, sobject, field, Access(access))

    def reset_field_access(self) -> None:
        """Every field readable and editable again."""
        self.permissions.reset()

    # -- records -------------------------------------------------------------------
    def create(
        self, sobject: str, fields: dict[str, Any], commit_at: datetime | None = None
    ) -> str:
        """Insert a record; system timestamps may be given, or `commit_at` to stamp all of
        them with one older instant (a late commit)."""
        return self.store.create(sobject, fields, system=True, commit_at=commit_at)

    def update(
        self,
        sobject: str,
        record_id: str,
        fields: dict[str, Any],
        commit_at: datetime | None = None,
    ) -> None:
        """Update a record, bumping LastModifiedDate and SystemModstamp to now, or to
        `commit_at`: a late commit, older than rows other transactions committed since."""
        self.store.update(sobject, record_id, fields, system=True, commit_at=commit_at)

    def delete(self, sobject: str, record_id: str) -> None:
        """Soft-delete a record into the recycle bin (IsDeleted true, stamps bumped)."""
        self.store.delete(sobject, record_id)

    def undelete(self, sobject: str, record_id: str) -> None:
        """Restore a record from the recycle bin (IsDeleted false, stamps bumped)."""
        self.store.undelete(sobject, record_id)

    def merge(
        self,
        master_id: str,
        loser_ids: Sequence[str],
        fields: dict[str, Any] | None = None,
    ) -> None:
        """Merge one or two accounts into `master_id` as Salesforce does: losers deleted
        with MasterRecordId set, their opportunities and child accounts re-parented to the
        master, every touched record's SystemModstamp bumped."""
        self.store.merge("Account", master_id, loser_ids, fields)

    def purge_recycle_bin(self, older_than_days: float | None = None) -> int:
        """Purge deleted rows deleted at least `older_than_days` ago (all if None); they
        vanish from queryAll. Returns how many were purged."""
        older = None if older_than_days is None else timedelta(days=older_than_days)
        return self.store.purge_deleted(older)

    @property
    def default_currency(self) -> str:
        """The Organization's DefaultCurrencyIsoCode."""
        return str(self.store.rows("Organization")[0].values["DefaultCurrencyIsoCode"])

    def get(self, sobject: str, record_id: str) -> dict[str, Any]:
        """A live record as the REST API returns it."""
        return self.store.get(sobject, record_id).as_json()

    def save(self, path: str | Path) -> None:
        """Write every record (deleted ones included) as JSON."""
        Path(path).write_text(json.dumps(self.store.dump()))
