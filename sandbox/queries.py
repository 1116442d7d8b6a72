"""Query execution and paging through query locators."""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sfsync.sandbox import ids
from sfsync.sandbox.clock import Clock
from sfsync.sandbox.record import Record
from sfsync.sandbox.schema import Objects
from sfsync.sandbox.soql import CompiledQuery, SoqlError, compile_query
from sfsync.sandbox.soql.lexer import Tok, tokenize
from sfsync.sandbox.store import Store
from sfsync.sandbox.timeouts import TimeoutRule, check
from sfsync.sandbox.writes import StoreError

MIN_BATCH = 200
MAX_BATCH = 2000


_LITERALS = frozenset({Tok.STRING, Tok.NUMBER, Tok.DATE, Tok.DATETIME})
_LIST_OF_PLACEHOLDERS = re.compile(r"\(\?(?:\s*,\s*\?)*\)")


@dataclass
class _Cursor:
    rows: list[Record]
    compiled: CompiledQuery
    batch: int
    last_used: datetime
    shape: str
    resource: str  # "query" or "queryAll": where nextRecordsUrl points


def query_shape(soql: str) -> str:
    """`soql` with each literal as ``?`` and each list of them as ``(?)``.

    What a query asks, without the ids or instants it asks about: counting by shape keeps
    the counters small however many IN-lists a sync sends.
    """
    out: list[str] = []
    at = 0
    for tok in tokenize(soql):
        if tok.kind in _LITERALS:
            out += [soql[at : tok.pos], "?"]
            at = tok.pos + len(tok.text)
    out.append(soql[at:])
    return _LIST_OF_PLACEHOLDERS.sub("(?)", "".join(out))


def parse_batch_size(header: str | None) -> int | None:
    """batchSize from a Sforce-Query-Options header, clamped to Salesforce's 200-2000."""
    if not header:
        return None
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "batchsize":
            try:
                return max(MIN_BATCH, min(MAX_BATCH, int(value.strip())))
            except ValueError:
                return None
    return None


class QueryService:
    """Runs SOQL once per query and serves the result in pages from a cursor."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        page_size: int,
        idle_seconds: float,
        on_page: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.page_size = page_size
        self.idle_seconds = idle_seconds
        #: Called with the query's shape (`query_shape`) for each page served.
        self.on_page = on_page
        #: Called with the query's shape for each query refused with QUERY_TIMEOUT.
        self.on_timeout: Callable[[str], None] | None = None
        #: Set to make wide SystemModstamp ranges fail with QUERY_TIMEOUT (`sandbox.timeouts`).
        self.timeout_rule: TimeoutRule | None = None
        #: The objects as the API user sees them (field-level security); default: all.
        self.visible: Callable[[], Objects] = lambda: store.objects
        self._lock = threading.Lock()
        self._cursors: dict[str, _Cursor] = {}

    def _resolve(self, sobject: str, record_id: Any) -> Record | None:
        if record_id is None:
            return None
        rec = self.store.find(sobject, record_id)
        return None if rec is None or rec.deleted else rec

    def execute(
        self, soql: str, include_deleted: bool, batch_hint: int | None, version: str
    ) -> dict[str, Any]:
        """First page of `soql`; raises SoqlError for a bad query."""
        now = self.clock.now()
        compiled = compile_query(soql, self._resolve, now, self.visible())
        shape = query_shape(soql)
        try:
            check(soql, self.timeout_rule, self.store.objects)
        except SoqlError:
            if self.on_timeout is not None:
                self.on_timeout(shape)
            raise
        if include_deleted:
            self.store.purge_expired()
        rows = compiled.run(self.store.rows(compiled.sobject.name), include_deleted)
        if compiled.count_only:
            if self.on_page is not None:
                self.on_page(shape)
            return {"totalSize": len(rows), "done": True, "records": []}
        batch = self.page_size if batch_hint is None else min(self.page_size, batch_hint)
        self._expire(now)
        resource = "queryAll" if include_deleted else "query"
        cursor = _Cursor(rows, compiled, batch, now, shape, resource)
        locator = None
        if len(rows) > batch:
            body = "01g" + _POD_LOCATOR + secrets.token_hex(5)[:9]
            locator = body + ids.checksum(body)
            with self._lock:
                self._cursors[locator] = cursor
        return self._page(cursor, locator, 0, version)

    def more(self, locator: str, offset: int, version: str) -> dict[str, Any]:
        """A later page; raises StoreError(INVALID_QUERY_LOCATOR) for unknown or idle cursors."""
        now = self.clock.now()
        self._expire(now)
        with self._lock:
            cursor = self._cursors.get(locator)
            if cursor is None or not 0 <= offset < len(cursor.rows):
                raise StoreError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
            cursor.last_used = now
        return self._page(cursor, locator, offset, version)

    def _page(
        self, cursor: _Cursor, locator: str | None, offset: int, version: str
    ) -> dict[str, Any]:
        if self.on_page is not None:
            self.on_page(cursor.shape)
        end = offset + cursor.batch
        project = cursor.compiled.project
        records = [project(r) for r in cursor.rows[offset:end]]
        done = end >= len(cursor.rows)
        body: dict[str, Any] = {"totalSize": len(cursor.rows), "done": done}
        if done:
            if locator is not None:
                # A finished cursor is useless; dropping it keeps memory flat under load.
                with self._lock:
                    self._cursors.pop(locator, None)
        else:
            body["nextRecordsUrl"] = f"/services/data/v{version}/{cursor.resource}/{locator}-{end}"
        body["records"] = records
        return body

    def _expire(self, now: datetime) -> None:
        with self._lock:
            stale = [
                key
                for key, cur in self._cursors.items()
                if (now - cur.last_used).total_seconds() > self.idle_seconds
            ]
            for key in stale:
                del self._cursors[key]

    def open_cursors(self) -> int:
        """Number of live query locators."""
        with self._lock:
            return len(self._cursors)


_POD_LOCATOR = "5g0"
