"""The SOQL engine on its own: parsing, errors with positions, filtering and ordering."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sfsync.sandbox.clock import Clock
from sfsync.sandbox.soql import SoqlError, compile_query, parse
from sfsync.sandbox.store import Store

NOW = datetime(2026, 11, 2, 14, 5, 9, tzinfo=UTC)


@pytest.fixture
def store() -> Store:
    """A tiny org: two accounts (one a child) and three opportunities."""
    s = Store(Clock(NOW))
    parent = s.create("Account", {"Name": "Acme Corp"})
    child = s.create(
        "Account", {"Name": "Acme EU", "ParentId": parent, "Ingest_Alias__c": "acme-eu"}
    )
    for name, stage, amount, stamp in [
        ("Alpha", "Closed Won", 100.0, "2026-11-01T10:00:00Z"),
        ("beta", "Signed", None, "2026-10-01T10:00:00Z"),
        ("Gamma", "Prospecting", 50.5, "2026-11-02T09:00:00Z"),
    ]:
        s.create(
            "Opportunity",
            {
                "Name": name,
                "StageName": stage,
                "Amount": amount,
                "CloseDate": "2026-11-01",
                "AccountId": child,
                "SystemModstamp": stamp,
            },
            system=True,
        )
    return s


def run(store: Store, soql: str) -> list[dict[str, Any]]:
    """Compile and run against `store`, projecting like the REST API."""

    def resolve(obj: str, key: Any) -> Any:
        rec = store.find(obj, key)
        return None if rec is None or rec.deleted else rec

    q = compile_query(soql, resolve, NOW)
    return [q.project(r) for r in q.run(store.rows(q.sobject.name), include_deleted=False)]


def names(rows: list[dict[str, Any]]) -> list[str]:
    """Names of projected rows."""
    return [r["Name"] for r in rows]


def test_keywords_and_fields_are_case_insensitive_and_canonicalised(store: Store):
    """select/FROM/where in any case; field names come back in canonical case."""
    rows = run(store, "select name, ACCOUNT.parent.NAME from opportunity where iswon = TRUE")
    assert set(rows[0]) == {"attributes", "Name", "Account"}
    assert rows[0]["Account"]["Parent"]["Name"] == "Acme Corp"


def test_is_won_covers_every_won_stage(store: Store):
    """IsWon is derived from the stage table: 'Closed Won' and 'Signed' both count."""
    assert sorted(names(run(store, "SELECT Name FROM Opportunity WHERE IsWon = true"))) == [
        "Alpha",
        "beta",
    ]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Amount > 60", ["Alpha"]),
        ("Amount = null", ["beta"]),
        ("Amount != null AND Amount <= 100", ["Alpha", "Gamma"]),
        ("Name = 'ALPHA'", ["Alpha"]),
        ("Name LIKE 'g%'", ["Gamma"]),
        ("Name IN ('alpha', 'Beta')", ["Alpha", "beta"]),
        ("Name NOT IN ('alpha')", ["beta", "Gamma"]),
        ("NOT (Amount > 60 OR Amount = null)", ["Gamma"]),
        ("SystemModstamp >= 2026-11-01T11:00:00+01:00", ["Alpha", "Gamma"]),
        ("SystemModstamp > 2026-11-01T10:00:00.000Z", ["Gamma"]),
        ("SystemModstamp = TODAY", ["Gamma"]),
        ("SystemModstamp = LAST_N_DAYS:7", ["Alpha", "Gamma"]),
        ("CloseDate = 2026-11-01", ["Alpha", "beta", "Gamma"]),
        ("Account.Ingest_Alias__c = 'acme-eu'", ["Alpha", "beta", "Gamma"]),
        ("Account.Parent.Name LIKE 'Acme\\_%'", []),
    ],
)
def test_where_operators(store: Store, where: str, expected: list[str]):
    """Comparison, null, LIKE, IN, NOT, datetime offsets and relative dates filter correctly."""
    assert (
        sorted(names(run(store, f"SELECT Name FROM Opportunity WHERE {where}")), key=str.lower)
        == expected
    )


def test_order_by_nulls_limit_offset(store: Store):
    """Multi-key ORDER BY with NULLS FIRST/LAST, then LIMIT and OFFSET."""
    soql = "SELECT Name FROM Opportunity ORDER BY Amount DESC NULLS FIRST, Name"
    assert names(run(store, soql)) == ["beta", "Alpha", "Gamma"]
    assert names(run(store, soql.replace("FIRST", "LAST"))) == ["Alpha", "Gamma", "beta"]
    assert names(run(store, soql + " LIMIT 1 OFFSET 1")) == ["Alpha"]


def test_count_returns_the_number_of_matches(store: Store):
    """SELECT COUNT() compiles to a count-only query."""
    q = compile_query("SELECT COUNT() FROM Opportunity WHERE Amount > 0", lambda *_: None, NOW)
    assert q.count_only
    assert len(q.run(store.rows("Opportunity"), include_deleted=False)) == 2


def test_string_escapes():
    """Quoted strings decode \\' \\\\ and \\n."""
    q = parse(r"SELECT Id FROM Account WHERE Name = 'O\'Brien \\ x\n'")
    assert q.where is not None
    assert q.where.value.value == "O'Brien \\ x\n"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("soql", "column"),
    [
        ("SELECT Id FRM Account", 11),
        ("SELECT Id FROM Account WHERE Name = ", 37),
        ("SELECT Id FROM Account WHERE Name = 'x' AND Id = 'y' OR Id = 'z'", 54),
        ("SELECT Id FROM Account WHERE Name = 'unterminated", 37),
        ("SELECT Id, FROM Account", 12),
        ("SELECT Id FROM Account LIMIT x", 30),
    ],
)
def test_malformed_queries_report_the_position(soql: str, column: int):
    """MALFORMED_QUERY messages carry Row:1:Column:N of the offending token."""
    with pytest.raises(SoqlError) as exc:
        parse(soql)
    assert exc.value.code == "MALFORMED_QUERY"
    assert f"ERROR at Row:1:Column:{column}" in exc.value.message


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Bogus FROM Account", "INVALID_FIELD"),
        ("SELECT Account.Bogus FROM Opportunity", "INVALID_FIELD"),
        ("SELECT Owner.Name FROM Opportunity", "INVALID_FIELD"),
        ("SELECT Id FROM Widget__c", "INVALID_TYPE"),
        ("SELECT Id FROM Account WHERE Name = 5", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account WHERE CreatedDate > '2026-01-01'", "MALFORMED_QUERY"),
    ],
)
def test_semantic_errors(soql: str, code: str):
    """Unknown fields/relationships, unknown objects and ill-typed literals are refused."""
    with pytest.raises(SoqlError) as exc:
        compile_query(soql, lambda *_: None, NOW)
    assert exc.value.code == code


@pytest.mark.parametrize(
    "path", ["Account.Parent.Parent.Parent.Parent.Name", "Account.Parent.Parent.Parent.Parent.Id"]
)
@pytest.mark.parametrize(
    "clause",
    [
        "SELECT {} FROM Opportunity",
        "SELECT Id FROM Opportunity WHERE {} = 'x'",
        "SELECT Id FROM Opportunity ORDER BY {}",
    ],
)
def test_a_path_of_more_than_five_names_is_a_malformed_query(path: str, clause: str):
    """Salesforce allows five names in a child-to-parent path; a sixth fails the whole query
    with the path's position."""
    soql = clause.format(path)
    with pytest.raises(SoqlError) as exc:
        compile_query(soql, lambda *_: None, NOW)
    assert exc.value.code == "MALFORMED_QUERY"
    assert f"Column:{soql.index(path) + 1}" in exc.value.message
    assert "no more than 5 levels" in exc.value.message


def test_a_path_of_five_names_is_the_deepest_accepted(store: Store):
    """Account.Parent.Parent.Parent.Name (five names) is served, null above the hierarchy."""
    rows = run(store, "SELECT Account.Parent.Parent.Parent.Name FROM Opportunity LIMIT 1")
    assert rows[0]["Account"]["Parent"] is not None
    assert rows[0]["Account"]["Parent"]["Parent"] is None


# --- property test against a plain-Python reference ---------------------------------

FIELDS = {
    "Name": st.sampled_from(["a", "A", "b", "ab", "B b", "zz"]),
    "Amount": st.one_of(st.none(), st.integers(-3, 3).map(float)),
    "Contract_Start_Date__c": st.one_of(
        st.none(), st.integers(0, 4).map(lambda d: date(2026, 1, 1) + timedelta(days=d))
    ),
    "SystemModstamp": st.integers(0, 4).map(lambda h: NOW - timedelta(hours=h)),
}
RECORDS = st.lists(st.fixed_dictionaries(FIELDS), max_size=12)
OPS = ["=", "!=", "<", "<=", ">", ">="]


def _literal(field: str, value: Any) -> str:
    if value is None:
        return "null"
    if field == "Name":
        return f"'{value}'"
    if field == "Amount":
        return repr(value)
    if field == "SystemModstamp":
        return str(value.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return str(value.isoformat())


def _norm(field: str, value: Any) -> Any:
    return value.lower() if field == "Name" and value is not None else value


def _compare(op: str, left: Any, right: Any) -> bool:
    if right is None:
        return (left is None) == (op == "=")
    if op == "=":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if left is None:
        return False
    return bool(
        {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]
    )


@st.composite
def conditions(draw: st.DrawFn, depth: int = 0) -> tuple[str, Any]:
    """(SOQL text, reference predicate over a plain dict)."""
    if depth < 2 and draw(st.booleans()):
        kind = draw(st.sampled_from(["AND", "OR", "NOT"]))
        if kind == "NOT":
            text, pred = draw(conditions(depth + 1))
            return f"NOT ({text})", lambda r: not pred(r)
        parts = draw(st.lists(conditions(depth + 1), min_size=2, max_size=3))
        joined = f" {kind} ".join(f"({t})" for t, _ in parts)
        preds = [p for _, p in parts]
        combine = all if kind == "AND" else any
        return joined, lambda r: combine(p(r) for p in preds)
    field = draw(st.sampled_from(sorted(FIELDS)))
    value = draw(FIELDS[field])
    op = draw(st.sampled_from(OPS if value is not None else ["=", "!="]))
    right = _norm(field, value)
    return (
        f"{field} {op} {_literal(field, value)}",
        lambda r: _compare(op, _norm(field, r[field]), right),
    )


ORDER = st.lists(
    st.tuples(st.sampled_from(sorted(FIELDS)), st.booleans(), st.sampled_from([None, True, False])),
    min_size=1,
    max_size=3,
    unique_by=lambda t: t[0],
)


def _reference_cmp(
    order: list[tuple[str, bool, bool | None]], a: dict[str, Any], b: dict[str, Any]
) -> int:
    for field, desc, nulls_first in order:
        first = (not desc) if nulls_first is None else nulls_first
        x, y = _norm(field, a[field]), _norm(field, b[field])
        if x == y:
            continue
        if x is None or y is None:
            return (-1 if x is None else 1) * (1 if first else -1)
        result = -1 if x < y else 1
        return -result if desc else result
    return int(a["_index"]) - int(b["_index"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=RECORDS, condition=conditions(), order=ORDER)
def test_where_and_order_by_agree_with_a_python_reference(
    records: list[dict[str, Any]],
    condition: tuple[str, Any],
    order: list[tuple[str, bool, bool | None]],
):
    """Random WHERE trees and ORDER BY lists select and sort exactly like the reference."""
    s = Store(Clock(NOW))
    expected_rows = []
    for i, rec in enumerate(records):
        new_id = s.create(
            "Opportunity",
            {**rec, "StageName": "Proposal", "CloseDate": "2026-01-01"},
            system=True,
        )
        expected_rows.append({**rec, "_index": i, "Id": new_id})
    text, pred = condition
    order_sql = ", ".join(
        f"{f} {'DESC' if d else 'ASC'}"
        + ("" if n is None else f" NULLS {'FIRST' if n else 'LAST'}")
        for f, d, n in order
    )
    soql = f"SELECT Id FROM Opportunity WHERE {text} ORDER BY {order_sql}"
    got = [r["Id"] for r in run(s, soql)]
    expected = sorted(
        (r for r in expected_rows if pred(r)),
        key=functools.cmp_to_key(functools.partial(_reference_cmp, order)),
    )
    assert got == [r["Id"] for r in expected]
