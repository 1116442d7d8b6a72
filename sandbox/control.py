"""The /__sandbox__/ control surface: faults, records (late commits, undelete, merge, the
recycle bin), clock, tokens, settings, field permissions and counters over HTTP.

It is not part of Salesforce's API and needs no bearer token, so tests and demos in other
processes can steer the org the same way the Python API does.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, Protocol

from sfsync.sandbox.clock import Clock
from sfsync.sandbox.faults import Faults
from sfsync.sandbox.permissions import Access
from sfsync.sandbox.responses import Request, Response, empty, json_response, sf_error
from sfsync.sandbox.values import format_datetime, parse_datetime
from sfsync.sandbox.writes import StoreError

PREFIX = "/__sandbox__"
_RECORD = re.compile(r"^/records/(\w+)(?:/(\w+))?/?$")
_RECORD_ACTION = re.compile(r"^/records/(\w+)/(\w+)/(undelete|merge)$")


class Steering(Protocol):
    """What is done to an org's records after the close, and its query timeouts: the
    `SandboxOrg` itself, or (in tests) the same calls over /__sandbox__/."""

    def create(
        self, sobject: str, fields: dict[str, Any], commit_at: datetime | None = None
    ) -> str: ...
    def update(
        self,
        sobject: str,
        record_id: str,
        fields: dict[str, Any],
        commit_at: datetime | None = None,
    ) -> None: ...
    def delete(self, sobject: str, record_id: str) -> None: ...
    def undelete(self, sobject: str, record_id: str) -> None: ...
    def merge(
        self, master_id: str, loser_ids: Sequence[str], fields: dict[str, Any] | None = None
    ) -> None: ...
    def purge_recycle_bin(self, older_than_days: float | None = None) -> int: ...
    def set_query_timeout(
        self, over_seconds: float | None, objects: Collection[str] | None = None
    ) -> None: ...


class SteeredOrg(Steering, Protocol):
    """What the control surface steers: the `SandboxOrg`'s Python API, named here so the org
    (which routes /__sandbox__/ requests here) and this module do not import each other."""

    clock: Clock
    faults: Faults

    def issue_token(self) -> str: ...
    def revoke_tokens(self, include_refresh: bool = False) -> None: ...
    def set_token_lifetime(self, seconds: float | None) -> None: ...
    def set_api_allowance(self, n: int) -> None: ...
    def reset_api_usage(self) -> None: ...
    def counters(self) -> dict[str, Any]: ...
    def reset_counters(self) -> None: ...
    def set_field_access(self, sobject: str, field: str, access: Access | str) -> None: ...
    def reset_field_access(self) -> None: ...
    def get(self, sobject: str, record_id: str) -> dict[str, Any]: ...


def _bad(message: str) -> Response:
    return sf_error(400, "INVALID_REQUEST", message)


def handle_control(org: SteeredOrg, req: Request) -> Response:
    """Serve one /__sandbox__/ request."""
    path = req.path[len(PREFIX) :].rstrip("/") or "/"
    try:
        body: Any = req.json() if req.body else {}
    except ValueError:
        return _bad("body is not JSON")
    if not isinstance(body, dict):
        return _bad("body must be a JSON object")
    try:
        return _route(org, req, path, body)
    except StoreError as exc:
        return sf_error(exc.status, exc.code, exc.message, exc.fields)
    except (ValueError, TypeError, KeyError) as exc:
        return _bad(str(exc))


def _instant(text: object, name: str) -> datetime:
    when = parse_datetime(str(text))
    if when is None:
        raise ValueError(f"{name}: not an ISO datetime: {text!r}")
    return when


def _commit_at(req: Request) -> datetime | None:
    """`?commit_at=ISO` on a record write: a late commit stamped with that instant."""
    raw = req.param("commit_at")
    return None if raw is None else _instant(raw, "commit_at")


def _route(org: SteeredOrg, req: Request, path: str, body: dict[str, Any]) -> Response:
    method = req.method
    if path == "/faults" and method == "POST":
        _faults(org, body)
        return empty()
    action = _RECORD_ACTION.match(path)
    if action is not None and method == "POST":
        sobject, key, verb = action.groups()
        if verb == "undelete":
            org.undelete(sobject, key)
            return empty()
        if sobject.lower() != "account":
            raise ValueError("merge applies to Account records")
        losers = body.get("losers")
        if not isinstance(losers, list) or not all(isinstance(x, str) for x in losers):
            raise ValueError("merge needs 'losers': a list of one or two account ids")
        fields = body.get("fields") or {}
        if not isinstance(fields, dict):
            raise ValueError("'fields' must be an object of master field values")
        org.merge(key, losers, fields)
        return empty()
    if path == "/recycle-bin/purge" and method == "POST":
        days = body.get("older_than_days")
        purged = org.purge_recycle_bin(None if days is None else float(days))
        return json_response(200, {"purged": purged})
    record = _RECORD.match(path)
    if record is not None:
        sobject, key = record.group(1), record.group(2)
        if key is None and method == "POST":
            new_id = org.create(sobject, body, commit_at=_commit_at(req))
            return json_response(201, {"id": new_id, "success": True})
        if key is not None and method == "PATCH":
            org.update(sobject, key, body, commit_at=_commit_at(req))
            return empty()
        if key is not None and method == "DELETE":
            org.delete(sobject, key)
            return empty()
        if key is not None and method == "GET":
            return json_response(200, org.get(sobject, key))
    if path == "/clock" and method == "POST":
        if "advance" in body:
            org.clock.advance(float(body["advance"]))
        if "set" in body:
            org.clock.set(_instant(body["set"], "set"))
        return json_response(200, {"now": format_datetime(org.clock.now())})
    if path == "/clock" and method == "GET":
        return json_response(200, {"now": format_datetime(org.clock.now())})
    if path == "/revoke" and method == "POST":
        org.revoke_tokens(include_refresh=bool(body.get("refresh", False)))
        return empty()
    if path == "/token" and method == "POST":
        return json_response(200, {"access_token": org.issue_token()})
    if path == "/settings" and method == "POST":
        if "api_allowance" in body:
            org.set_api_allowance(int(body["api_allowance"]))
        if "token_lifetime" in body:
            lifetime = body["token_lifetime"]
            org.set_token_lifetime(None if lifetime is None else float(lifetime))
        if body.get("reset_api_usage"):
            org.reset_api_usage()
        if "query_timeout_over_seconds" in body:
            span = body["query_timeout_over_seconds"]
            objects = body.get("query_timeout_objects")
            org.set_query_timeout(None if span is None else float(span), objects)
        return empty()
    if path == "/permissions" and method == "POST":
        if body.get("reset"):
            org.reset_field_access()
        if "field" in body:
            org.set_field_access(str(body["object"]), str(body["field"]), str(body["access"]))
        return empty()
    if path == "/counters" and method == "GET":
        return json_response(200, org.counters())
    if path == "/counters/reset" and method == "POST":
        org.reset_counters()
        return empty()
    return sf_error(404, "NOT_FOUND", f"no sandbox control at {method} {req.path}")


def _faults(org: SteeredOrg, body: dict[str, Any]) -> None:
    paths = body.get("paths")
    if body.get("clear"):
        org.faults.clear()
    if "latency" in body:
        org.faults.latency(float(body["latency"]), paths)
    if "hang_next" in body:
        org.faults.hang_next(int(body["hang_next"]), paths)
    if "kind" in body:
        kind = str(body["kind"])
        if "next" in body:
            org.faults.fail_next(int(body["next"]), kind, paths)
        elif "ratio" in body:
            org.faults.fail_ratio(float(body["ratio"]), kind, int(body.get("seed", 0)), paths)
        else:
            raise ValueError("a fault kind needs 'next' or 'ratio'")
