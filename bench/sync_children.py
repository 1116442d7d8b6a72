"""The sync benchmark's child processes: one sync, reconciliation or transport floor each,
so its peak RSS (VmHWM) is its own. `bench/sync_bench.py` runs
`python -m sfsync.bench.sync_children KIND JSON` and reads the JSON line it prints.

This module imports only what a child needs (not the benchmark's driver, its stores' set-up or
the org it seeds), so a child's memory is the run's.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

from simple_salesforce.api import Salesforce

from sfsync.config import Settings
from sfsync.models import Store
from sfsync.sandbox.client import loopback_session
from sfsync.sync.salesforce import (
    QUERY_BATCH_SIZE,
    QueryRules,
    SalesforceClient,
    opportunity_query,
)
from sfsync.sync.streams.opportunities import poll_opportunities
from sfsync.sync.streams.reconcile import reconcile

#: The alias field of the benchmark org's accounts.
ALIAS_FIELDS = "Ingest_Alias__c"


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def child_settings(args: dict[str, Any]) -> Any:
    return Settings(
        _env_file=None,
        data_dir=args["data_dir"],
        database_url=args.get("database_url"),
        sf_instance_url=args["instance_url"],
        sf_access_token=args["token"],
        sf_alias_fields=ALIAS_FIELDS,
    )


def child_sync(args: dict[str, Any]) -> dict[str, Any]:
    settings = child_settings(args)
    store = Store(args["database_url"])
    client = SalesforceClient(settings)
    wall, cpu = time.perf_counter(), time.process_time()
    result = poll_opportunities(store, client, settings, full=args["full"])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    client.close()
    store.close()
    return {
        "status": result.status.value,
        "error": result.error,
        "seconds": round(wall, 3),
        "process_cpu_seconds": round(cpu, 3),
        "counters": vars(result.counters),
        "peak_rss_mb": peak_rss_mb(),
    }


def child_reconcile(args: dict[str, Any]) -> dict[str, Any]:
    settings = child_settings(args)
    store = Store(args["database_url"])
    client = SalesforceClient(settings)
    wall = time.perf_counter()
    result = reconcile(store, client, settings)
    wall = time.perf_counter() - wall
    client.close()
    store.close()
    return {
        "status": result.status.value,
        "error": result.error,
        "seconds": round(wall, 3),
        "counters": vars(result.counters),
        "peak_rss_mb": peak_rss_mb(),
    }


def child_transport(args: dict[str, Any]) -> dict[str, Any]:
    settings = child_settings(args)
    sf = Salesforce(
        instance_url=args["instance_url"],
        session_id=args["token"],
        version=settings.sf_api_version,
        session=loopback_session(args["instance_url"]),
        object_pairs_hook=None,  # as sfsync's client: plain dicts, json's C decoder
    )
    # The benchmark org is multi-currency (SandboxOrg's default).
    soql = opportunity_query(QueryRules.of(settings, multi_currency=True), None)
    headers = {"Sforce-Query-Options": f"batchSize={QUERY_BATCH_SIZE}"}
    start = time.perf_counter()
    records = sum(1 for _ in sf.query_all_iter(soql, headers=headers, timeout=120))
    seconds = time.perf_counter() - start
    return {"records": records, "seconds": round(seconds, 3), "peak_rss_mb": peak_rss_mb()}


def main() -> None:
    """Run the child named by argv[1] on the JSON arguments in argv[2]; print its figures."""
    kind, payload = sys.argv[1:3]
    run = {"sync": child_sync, "reconcile": child_reconcile, "transport": child_transport}[kind]
    print(json.dumps(run(json.loads(payload))))


if __name__ == "__main__":
    main()
