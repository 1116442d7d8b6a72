"""Salesforce records are parsed once, at the adapter: sync/ reads rows, not raw dicts' keys.

`sync/salesforce/rows.py` reads each record's Id, AccountId, SystemModstamp, IsDeleted and
IsWon once; the rest of sync/ asks the row (`row.id`, `row.modstamp`, ...) and reads only
the other fields from `row.record`.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PARSED = ("Id", "AccountId", "SystemModstamp", "IsDeleted", "IsWon", "StageName")
#: A parsed field read from a dict: ``["Id"]``, ``.get("Id")``; any mention of the
#: SystemModstamp key at all.
RAW_READ = re.compile(
    r"""\[["'](?:{keys})["']\]|\.get\(["'](?:{keys})["']|["']SystemModstamp["']""".format(
        keys="|".join(PARSED)
    )
)


def _sync_sources() -> dict[str, str]:
    return {
        str(p.relative_to(ROOT)): p.read_text()
        for p in (ROOT / "sync").rglob("*.py")
        if "salesforce" not in p.relative_to(ROOT / "sync").parts
    }


def test_sync_outside_the_adapter_reads_no_parsed_field_from_a_raw_record() -> None:
    """No module of sync/ outside sync/salesforce/ reads Id, AccountId, SystemModstamp,
    IsDeleted, IsWon or StageName from a record: the rows did, once."""
    found = [
        f"{path}:{n}: {line.strip()}"
        for path, text in _sync_sources().items()
        for n, line in enumerate(text.splitlines(), 1)
        if RAW_READ.search(line)
    ]
    assert found == []


def test_modstamps_are_parsed_only_in_the_adapter() -> None:
    """`parse_modstamp` is used only in sync/salesforce/; `parse_sf_datetime` only where the
    mapping reads a configured date or datetime field (`sync/record_values.py`), never a
    SystemModstamp."""
    modstamp = [p for p, text in _sync_sources().items() if "parse_modstamp" in text]
    datetimes = [p for p, text in _sync_sources().items() if "parse_sf_datetime" in text]
    assert modstamp == []
    assert datetimes == ["sync/record_values.py"]
    rows = (ROOT / "sync" / "salesforce" / "rows.py").read_text()
    assert 'parse_modstamp(record.get("SystemModstamp"))' in rows


def test_the_pattern_catches_a_raw_read() -> None:
    """The check above is not vacuous: each way of reading a parsed field is caught."""
    for line in (
        'record["Id"]',
        "rec.get('AccountId')",
        'str(r["SystemModstamp"])',
        'record.get("IsWon") is True',
        'bool(record.get("IsDeleted"))',
        '{"SystemModstamp": when}',
    ):
        assert RAW_READ.search(line), line
    assert not RAW_READ.search('record.get("Name")')
