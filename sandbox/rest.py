"""The Salesforce-shaped surface: OAuth, SOAP login, versions, query, sObjects, limits."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from urllib.parse import parse_qs

from sfsync.sandbox.faults import FAULT_KINDS, Decision
from sfsync.sandbox.oauth import Auth, OAuthError
from sfsync.sandbox.permissions import FieldPermissions, describe
from sfsync.sandbox.queries import QueryService, parse_batch_size
from sfsync.sandbox.responses import Request, Response, empty, json_response, sf_error
from sfsync.sandbox.schema import ObjectDef
from sfsync.sandbox.soql import SoqlError
from sfsync.sandbox.store import Store
from sfsync.sandbox.usage import Usage
from sfsync.sandbox.writes import StoreError, convert

HANG_SECONDS = 60.0
VERSIONS = ("57.0", "58.0", "59.0", "60.0", "61.0", "62.0")
_DATA = re.compile(r"^/services/data/v(\d+\.\d+)(/.*)?$")
_SOAP = re.compile(r"^/services/Soap/u/(\d+\.\d+)/?$")
_QUERY_MORE = re.compile(r"^/(query|queryAll)/([A-Za-z0-9]{15,18})-(\d+)/?$")
_SOBJECT = re.compile(r"^/sobjects/(\w+)(?:/([^/]+))?/?$")

FaultsDecide = Callable[[str], Decision]


def classify(path: str) -> str:
    """Counter category of a request path."""
    if path.startswith("/services/oauth2/"):
        return "token"
    if path.startswith("/services/Soap/"):
        return "soap_login"
    m = _DATA.match(path)
    if m is None:
        return "versions" if path.rstrip("/") == "/services/data" else "other"
    rest = m.group(2) or "/"
    if _QUERY_MORE.match(rest):
        return "query_more"
    if rest.startswith(("/query", "/queryAll")):
        return "query"
    if rest.startswith("/sobjects"):
        # Describes apart from record reads and writes: a test can tell "read the schema"
        # from "wrote a record".
        return "describe" if rest.rstrip("/").endswith("/describe") else "sobjects"
    if rest.startswith("/limits"):
        return "limits"
    return "other"


def _bearer(req: Request) -> str | None:
    value = req.header("Authorization") or ""
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() in ("bearer", "oauth") else None


class SalesforceApi:
    """Routes Salesforce-surface requests, applying faults, auth and the allowance."""

    def __init__(
        self,
        store: Store,
        auth: Auth,
        queries: QueryService,
        usage: Usage,
        faults_decide: FaultsDecide,
        stopping: threading.Event,
        permissions: FieldPermissions | None = None,
    ) -> None:
        self.store = store
        self.permissions = permissions if permissions is not None else FieldPermissions()
        queries.visible = lambda: self.permissions.visible(store.objects)
        self.auth = auth
        self.queries = queries
        self.usage = usage
        self.decide = faults_decide
        self.stopping = stopping

    def handle(self, req: Request) -> Response | None:
        """Serve `req`; None means drop the connection (a hang cut short by shutdown)."""
        self.usage.count_call(classify(req.path))
        decision = self.decide(req.path)
        if decision.latency > 0:
            time.sleep(decision.latency)
        if decision.hang and self.stopping.wait(HANG_SECONDS):
            return None
        if decision.kind is not None:
            status, code, message = FAULT_KINDS[decision.kind]
            if decision.kind == "401":
                self.auth.revoke(_bearer(req))
            return self._limited(sf_error(status, code, message))
        if req.path == "/services/oauth2/token":
            return self._token(req)
        soap = _SOAP.match(req.path)
        if soap is not None:
            status, xml = self.auth.soap_login(req.body.decode("utf-8", "replace"), soap.group(1))
            return Response(status, xml.encode(), content_type="text/xml;charset=UTF-8")
        if req.path.rstrip("/") == "/services/data":
            return json_response(
                200,
                [{"label": f"v{v}", "url": f"/services/data/v{v}", "version": v} for v in VERSIONS],
            )
        m = _DATA.match(req.path)
        if m is None or m.group(1) not in VERSIONS:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        if not self.auth.valid(_bearer(req)):
            return self._limited(sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid"))
        if not self.usage.consume():
            return self._limited(
                sf_error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            )
        try:
            response = self._route(req, m.group(1), m.group(2) or "/")
        except SoqlError as exc:
            response = sf_error(400, exc.code, exc.message)
        except StoreError as exc:
            response = sf_error(exc.status, exc.code, exc.message, exc.fields)
        return self._limited(response)

    def _limited(self, response: Response) -> Response:
        response.headers["Sforce-Limit-Info"] = self.usage.header()
        return response

    def _token(self, req: Request) -> Response:
        if req.method != "POST":
            return json_response(400, {"error": "invalid_request", "error_description": "POST"})
        form = {k: v[0] for k, v in parse_qs(req.body.decode(), keep_blank_values=True).items()}
        try:
            return json_response(200, self.auth.token(form, req.headers))
        except OAuthError as exc:
            return json_response(400, {"error": exc.error, "error_description": exc.description})

    def _route(self, req: Request, version: str, rest: str) -> Response:
        if rest == "/":
            return json_response(
                200,
                {
                    k: f"/services/data/v{version}/{k}"
                    for k in ("sobjects", "query", "queryAll", "limits")
                },
            )
        more = _QUERY_MORE.match(rest)
        if more is not None and req.method == "GET":
            page = self.queries.more(more.group(2), int(more.group(3)), version)
            self.usage.add_rows(len(page["records"]))
            return json_response(200, page)
        if rest.rstrip("/") in ("/query", "/queryAll") and req.method == "GET":
            soql = req.param("q")
            if not soql:
                return sf_error(400, "MALFORMED_QUERY", "A query string has to be specified")
            batch = parse_batch_size(req.header("Sforce-Query-Options"))
            page = self.queries.execute(soql, rest.startswith("/queryAll"), batch, version)
            self.usage.add_rows(len(page["records"]))
            return json_response(200, page)
        if rest.rstrip("/") == "/limits":
            used = self.usage.snapshot()
            maximum = used["api_allowance"]
            return json_response(
                200,
                {
                    "DailyApiRequests": {
                        "Max": maximum,
                        "Remaining": max(0, maximum - used["api_calls_total"]),
                    }
                },
            )
        if rest.rstrip("/") == "/sobjects" and req.method == "GET":
            return json_response(
                200,
                {
                    "sobjects": [
                        {"name": o.name, "queryable": True, "createable": o.createable}
                        for o in self.store.objects.values()
                    ]
                },
            )
        sob = _SOBJECT.match(rest)
        if sob is not None:
            return self._sobject(req, version, sob.group(1), sob.group(2))
        return sf_error(404, "NOT_FOUND", "The requested resource does not exist")

    def _seen(self, name: str) -> ObjectDef:
        """The object as the API user sees it (field-level security applied)."""
        obj = self.store.object(name)
        return self.permissions.visible(self.store.objects)[obj.name.lower()]

    def _sobject(self, req: Request, version: str, name: str, key: str | None) -> Response:
        obj = self._seen(name)
        if key is None:
            if req.method == "POST":
                body = req.json()
                if not isinstance(body, dict):
                    return sf_error(400, "JSON_PARSER_ERROR", "Expected a JSON object")
                convert(obj, body, False, self.store.find)  # what this user may write
                new_id = self.store.create(obj.name, body)
                return json_response(201, {"id": new_id, "success": True, "errors": []})
            if req.method == "GET":
                return json_response(200, {"objectDescribe": {"name": obj.name}, "recentItems": []})
        elif key == "describe" and req.method == "GET":
            return json_response(200, describe(obj))
        elif req.method == "GET":
            record = self.store.get(obj.name, key).as_json()
            wanted = req.param("fields")
            names = {w.strip().lower() for w in wanted.split(",")} if wanted else None
            record = {
                k: v
                for k, v in record.items()
                if k == "attributes"
                or (obj.field(k) is not None and (names is None or k.lower() in names))
            }
            return json_response(200, record)
        elif req.method == "PATCH":
            body = req.json()
            if not isinstance(body, dict):
                return sf_error(400, "JSON_PARSER_ERROR", "Expected a JSON object")
            convert(obj, body, False, self.store.find)  # what this user may write
            self.store.update(obj.name, key, body)
            return empty()
        elif req.method == "DELETE":
            self.store.delete(obj.name, key)
            return empty()
        return sf_error(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{req.method}' not allowed")
