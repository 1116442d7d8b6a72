"""Commands that connect check the mapping against the org before reading anything."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sfsync.sandbox import SandboxOrg
from tests.cli.conftest import Invoke, ok_json


@pytest.fixture(scope="module")
def small_org() -> Iterator[SandboxOrg]:
    with SandboxOrg(seed=9, opportunities=10, page_size=50) as org:
        yield org


@pytest.mark.parametrize("args", [("--inline",), ("--dry-run",)], ids=["inline", "dry-run"])
def test_sync_run_stops_on_a_field_the_org_lacks(
    sfsync: Invoke, small_org: SandboxOrg, tmp_path: Path, args: tuple[str, ...]
) -> None:
    """`sync run --inline`/`--dry-run` with an unknown field in sfsync.toml: one line naming
    the file's line, the key and the field; exit 2; no run recorded, no deal read."""
    mapping = tmp_path / "sfsync.toml"
    mapping.write_text('[contract]\nstart_field = "CloseDate"\nend_field = "End_Date__c"\n')
    env = {
        "SFSYNC_SF_INSTANCE_URL": small_org.instance_url,
        "SFSYNC_SF_ACCESS_TOKEN": small_org.access_token,
        "SFSYNC_CONFIG": str(mapping),
    }
    small_org.reset_counters()
    result = sfsync("sync", "run", *args, env=env)
    assert result.exit_code == 2, result.output
    [line] = [n for n in result.stderr.splitlines() if n.startswith("error:")]
    assert f"{mapping}:3: contract.end_field: Opportunity has no field End_Date__c" in line
    assert ok_json(sfsync("runs", "list", "--json", env=env)) == []
    assert "query" not in small_org.counters()["calls"]
