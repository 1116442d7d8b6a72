"""The Salesforce client sfsync uses, wrapping simple-salesforce.

A worker process keeps one client for its lifetime, across runs (`tasks.context` builds it
on first use): its session, connection pool and last API-usage reading carry over, which is
why each unit of work calls `refresh_budget` first. A command of the CLI makes its own for
the length of the command.

Every call goes through the same path: budget check → (login if needed) → the
simple-salesforce call with a timeout → library errors translated by
`sync.salesforce.errors.translate` → on ``INVALID_SESSION_ID`` one new login and one
repeat → transient errors retried with exponential backoff and jitter. What reaches the
caller is an error of the tree in `sync.salesforce.errors`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Generator, Iterable, Mapping
from datetime import datetime
from typing import Any, TypeVar

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceError as LibrarySalesforceError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)
from tenacity.wait import wait_base

from sfsync.config import RedactSecretsFilter, Settings
from sfsync.sync.salesforce.auth import Authenticator, SessionInfo
from sfsync.sync.salesforce.errors import (
    SalesforceAuthError,
    SalesforceError,
    SalesforceSessionExpired,
    SalesforceThrottled,
    SalesforceTransientError,
    translate,
)
from sfsync.sync.salesforce.fields import field_settings
from sfsync.sync.salesforce.ids import normalize_id
from sfsync.sync.salesforce.modes import AuthMode
from sfsync.sync.salesforce.transport import allow_plain_http_loopback, http_date

__all__ = ["QUERY_BATCH_SIZE", "Page", "SalesforceClient"]

log = logging.getLogger(__name__)

T = TypeVar("T")

QUERY_BATCH_SIZE = 2000
_SOBJECT = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


class Page(list[dict[str, Any]]):
    """The records of one page of a query, and how many records the whole query has.

    A list, so code that only wants the records need not know; `total_size` (the
    response's ``totalSize``, or the page's own length if a response lacks it) lets a
    consumer size the work ahead from the first page; `server_time` is Salesforce's clock
    when it served the page (its ``Date`` header), None if the response had none.
    """

    def __init__(
        self,
        records: Iterable[dict[str, Any]],
        total_size: int,
        server_time: datetime | None = None,
    ) -> None:
        super().__init__(records)
        self.total_size = total_size
        self.server_time = server_time


class SalesforceClient:
    """Salesforce REST access with sfsync's auth modes, timeouts, retries and error classes.

    `http` is the `requests.Session` every request goes through (tests pass one configured
    for the sandbox); the client closes it only if it created it. `wait` replaces the
    backoff strategy (tests pass `tenacity.wait_none()`).
    """

    def __init__(
        self,
        settings: Settings,
        http: requests.Session | None = None,
        *,
        wait: wait_base | None = None,
    ) -> None:
        self.settings = settings
        self._owns_http = http is None
        self._http = http if http is not None else requests.Session()
        self._timeout = (settings.sf_connect_timeout, settings.sf_read_timeout)
        self._redactor = RedactSecretsFilter(settings.secret_values())
        self._auth = Authenticator(settings, self._http, redact=self._redact, timeout=self._timeout)
        self._wait = (
            wait
            if wait is not None
            else wait_random_exponential(multiplier=0.5, max=settings.sf_retry_max_wait)
        )
        self._sf: Salesforce | None = None
        self._session: SessionInfo | None = self._auth.initial_session()
        self._field_settings = field_settings(settings)
        self._api_usage: tuple[int, int] | None = None
        #: Salesforce's clock at its latest response (the ``Date`` header), if any.
        self.server_time: datetime | None = None
        self._http.hooks["response"].append(self._read_server_time)
        self.api_calls = 0
        self.login_calls = 0

    # --- public ------------------------------------------------------------------------------

    @property
    def auth_mode(self) -> AuthMode:
        """The auth mode chosen from the settings."""
        return self._auth.mode

    @property
    def api_usage(self) -> tuple[int, int] | None:
        """(used, max) of the org's API allowance as last reported, or None before any call."""
        return self._api_usage

    def check_budget(self) -> None:
        """Raise `SalesforceThrottled` when usage is above SFSYNC_SF_API_USAGE_MAX_PERCENT."""
        if self._within_budget() or self._api_usage is None:
            return
        used, total = self._api_usage
        limit = self.settings.sf_api_usage_max_percent
        raise SalesforceThrottled(
            f"Salesforce API usage {used}/{total} is above SFSYNC_SF_API_USAGE_MAX_PERCENT "
            f"({limit:g}%); the run stops until the rolling 24-hour allowance recovers",
            error_code="API_USAGE_ABOVE_MAX",
        )

    def refresh_budget(self) -> None:
        """Look again (one call to /limits) at an allowance the last reading put above the max.

        Only a call brings a new reading, and a reading above the max refuses every call, so
        a client kept by a long-lived worker process would refuse every later run on the last
        one's reading. Each unit of work (a run, a writeback flush) calls this first; within
        the max it costs nothing.
        """
        if self._within_budget():
            return
        body = self._retrying(
            lambda: self._call_once(
                "limits", lambda sf: sf.limits(timeout=self._timeout), check=False
            )
        )
        daily = body.get("DailyApiRequests") if isinstance(body, Mapping) else None
        try:
            total = int(daily["Max"])  # type: ignore[index]
            self._api_usage = (total - int(daily["Remaining"]), total)  # type: ignore[index]
        except (TypeError, KeyError, ValueError):
            pass  # no usable body: the response's Sforce-Limit-Info reading stands

    def _within_budget(self) -> bool:
        if self._api_usage is None:
            return True
        used, total = self._api_usage
        return total > 0 and used * 100 / total <= self.settings.sf_api_usage_max_percent

    def login(self) -> None:
        """Log in now (otherwise the first call does); useful to fail fast on bad credentials."""
        self._retrying(self._login)

    def query_pages(
        self, soql: str, *, include_deleted: bool = False
    ) -> Generator[Page, None, None]:
        """Yield the records of each non-empty page of a query, fetching pages lazily.

        Each page is its own call (own retries and session renewal), so a consumer that
        commits page by page never re-reads a page because a later one failed; one that
        needs no more closes the generator and no further page is fetched.
        """
        page = self._call("query", self._page_fetcher(soql, include_deleted, first=True))
        while True:
            records = page.get("records") or []
            if records:
                yield Page(records, int(page.get("totalSize") or len(records)), self.server_time)
            next_url = page.get("nextRecordsUrl")
            if page.get("done", True) or not next_url:
                return
            page = self._call("query_more", self._page_fetcher(str(next_url), include_deleted))

    def query_all(self, soql: str) -> list[dict[str, Any]]:
        """Every record of a query (all pages) in one list."""
        return [record for page in self.query_pages(soql) for record in page]

    def get(self, sobject: str, record_id: str) -> dict[str, Any]:
        """One record by id (all fields)."""
        path = self._record_path(sobject, record_id)
        result = self._call("get", lambda sf: sf.restful(path, timeout=self._timeout))
        return dict(result or {})

    def rest(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        """GET one REST resource under the API version (``sobjects/X/describe``, ``limits``,
        ``query`` for a COUNT())."""
        query = dict(params) if params else None
        result = self._call("get", lambda sf: sf.restful(path, params=query, timeout=self._timeout))
        return dict(result or {})

    def update(self, sobject: str, record_id: str, fields: Mapping[str, Any]) -> None:
        """Update fields of one record."""
        path = self._record_path(sobject, record_id)
        body = json.dumps(dict(fields))
        self._call(
            "update", lambda sf: sf.restful(path, method="PATCH", data=body, timeout=self._timeout)
        )

    def close(self) -> None:
        """Release the HTTP connections (only those of a session the client created)."""
        self._sf = None
        hooks = self._http.hooks["response"]
        if self._read_server_time in hooks:
            hooks.remove(self._read_server_time)
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> SalesforceClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _page_fetcher(
        self, soql_or_url: str, include_deleted: bool, *, first: bool = False
    ) -> Callable[[Salesforce], Mapping[str, Any]]:
        headers = {"Sforce-Query-Options": f"batchSize={QUERY_BATCH_SIZE}"}

        def fetch(sf: Salesforce) -> Mapping[str, Any]:
            if first:
                return sf.query(  # type: ignore[no-any-return]
                    soql_or_url,
                    include_deleted=include_deleted,
                    headers=headers,
                    timeout=self._timeout,
                )
            return sf.query_more(  # type: ignore[no-any-return]
                soql_or_url,
                identifier_is_url=True,
                include_deleted=include_deleted,
                headers=headers,
                timeout=self._timeout,
            )

        return fetch

    # --- the call path -----------------------------------------------------------------------

    def _call(self, operation: str, fn: Callable[[Salesforce], T]) -> T:
        return self._retrying(lambda: self._call_once(operation, fn))

    def _retrying(self, fn: Callable[[], T]) -> T:
        retrying = Retrying(
            stop=stop_after_attempt(self.settings.sf_retry_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(SalesforceTransientError),
            before_sleep=_log_retry,
            reraise=True,
        )
        return retrying(fn)

    def _call_once(self, operation: str, fn: Callable[[Salesforce], T], *, check: bool = True) -> T:
        if check:
            self.check_budget()
        sf = self._client()
        try:
            return self._invoke(operation, sf, fn)
        except SalesforceSessionExpired as expired:
            if not self._auth.can_renew:
                raise SalesforceAuthError(
                    "Salesforce rejected the access token (expired or revoked); set a fresh "
                    "SFSYNC_SF_ACCESS_TOKEN, or SFSYNC_SF_REFRESH_TOKEN with "
                    "SFSYNC_SF_CONSUMER_KEY so sfsync can renew it",
                    error_code=expired.error_code,
                    status=expired.status,
                ) from expired
            log.info("Salesforce session expired during %s; logging in again", operation)
            self._login()
            try:
                return self._invoke(operation, self._client(), fn)
            except SalesforceSessionExpired as again:
                raise SalesforceAuthError(
                    "Salesforce rejected a session it had just issued "
                    f"({self._auth.mode.value} login); check the integration user's profile "
                    "and session settings for SFSYNC_SF_USERNAME and the connected app of "
                    "SFSYNC_SF_CONSUMER_KEY",
                    error_code=again.error_code,
                    status=again.status,
                ) from again

    def _invoke(self, operation: str, sf: Salesforce, fn: Callable[[Salesforce], T]) -> T:
        self.api_calls += 1
        try:
            result = fn(sf)
        except (LibrarySalesforceError, requests.RequestException) as exc:
            raise translate(
                exc, operation=operation, field_settings=self._field_settings, redact=self._redact
            ) from exc
        finally:
            self._read_usage(sf)
        return result

    def _client(self) -> Salesforce:
        if self._sf is None:
            if self._session is None:
                self._login()
            assert self._session is not None
            allow_plain_http_loopback(self._http, self._session.instance_url)
            self._sf = Salesforce(
                instance_url=self._session.instance_url,
                session_id=self._session.access_token,
                version=self.settings.sf_api_version,
                session=self._http,
                # Plain dicts: the library's default OrderedDict hook takes json's pure-Python
                # path, which cost more than a page's HTTP round trip.
                object_pairs_hook=None,
            )
        return self._sf

    def _login(self) -> None:
        self.login_calls += 1
        self._session = self._auth.login()
        self._sf = None

    def _read_server_time(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Keep the ``Date`` of each response: Salesforce's clock, whatever the worker's says."""
        when = http_date(response.headers.get("Date"))
        if when is not None:
            self.server_time = when

    def _read_usage(self, sf: Salesforce) -> None:
        usage = getattr(sf, "api_usage", None) or {}
        current = usage.get("api-usage")
        if current is not None:
            self._api_usage = (int(current.used), int(current.total))

    def _redact(self, text: str) -> str:
        text = self._redactor.redact(text)
        if self._session is not None:
            text = text.replace(self._session.access_token, "[REDACTED]")
        return text

    def _record_path(self, sobject: str, record_id: str) -> str:
        if not _SOBJECT.fullmatch(sobject):
            raise ValueError(f"not an sObject name: {sobject!r}")
        return f"sobjects/{sobject}/{normalize_id(record_id)}"


def _log_retry(state: RetryCallState) -> None:
    error: BaseException | None = state.outcome.exception() if state.outcome else None
    delay = state.next_action.sleep if state.next_action else 0.0
    log.warning(
        "Salesforce call failed (attempt %d): %s; retrying in %.1fs",
        state.attempt_number,
        error if isinstance(error, SalesforceError) else type(error).__name__,
        delay,
    )
