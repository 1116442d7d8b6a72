"""`sfsync sync run --dry-run`: the plan in a table or in JSON, and nothing written."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sfsync.sandbox import SandboxOrg
from tests.cli.conftest import Invoke, ok_json


@pytest.fixture(scope="module")
def small_org() -> Iterator[SandboxOrg]:
    with SandboxOrg(seed=5, opportunities=30, page_size=10) as org:
        yield org


@pytest.fixture
def sf_env(small_org: SandboxOrg) -> dict[str, str]:
    return {
        "SFSYNC_SF_INSTANCE_URL": small_org.instance_url,
        "SFSYNC_SF_ACCESS_TOKEN": small_org.access_token,
        "SFSYNC_SF_ALIAS_FIELDS": "Ingest_Alias__c",
    }


def test_dry_run_json_lists_every_change_and_the_real_run_agrees(
    sfsync: Invoke, sf_env: dict[str, str], small_org: SandboxOrg
) -> None:
    """`--dry-run --json` plans one contract per won deal, then writes no run; the real run
    creates exactly the planned contracts, with the same API calls."""
    won = {
        r.id
        for r in small_org.store.rows("Opportunity")
        if r.values.get("IsWon") and r.values.get("AccountId") and not r.deleted
    }
    plan = ok_json(sfsync("sync", "run", "--dry-run", "--json", env=sf_env))
    assert plan["dry_run"] is True
    assert {c["opportunity_id"] for c in plan["contracts"] if c["action"] == "create"} == won
    assert plan["summary"]["contracts"]["create"] == len(won)
    assert ok_json(sfsync("runs", "list", "--json", env=sf_env)) == []
    assert ok_json(sfsync("customers", "list", "--json", env=sf_env)) == []

    real = ok_json(sfsync("sync", "run", "--inline", "--json", env=sf_env))
    assert [r["contracts_created"] for r in real] == [len(won), 0]
    assert [r["api_calls"] for r in real] == [r["api_calls"] for r in plan["runs"]]
    assert plan["api_calls"] == sum(r["api_calls"] for r in real)


def test_dry_run_prints_a_summary_table_and_the_changes(
    sfsync: Invoke, sf_env: dict[str, str]
) -> None:
    """Without --json: the summary (what, action, count), the runs, then change lines."""
    result = sfsync("sync", "run", "--dry-run", "--stream", "opportunities", env=sf_env)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.split("\t")[:2] == ["contracts", "create"] for line in lines), lines
    assert any(line.startswith("opportunities: succeeded") for line in lines)
    assert "contracts:" in lines
    assert "nothing was written" in result.stderr
