"""Benchmark: stream a 100,000-row query from the sandbox with simple-salesforce.

Run as `python -m bench.sandbox_bench`; prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time

from simple_salesforce.api import Salesforce

from sfsync.sandbox import SandboxOrg
from sfsync.sandbox.client import loopback_session

SOQL = (
    "SELECT Id, Name, AccountId, Account.Name, StageName, IsWon, Amount, CurrencyIsoCode, "
    "CloseDate, SystemModstamp FROM Opportunity ORDER BY SystemModstamp, Id"
)


def main() -> None:
    """Seed, serve, stream, report."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=2000)
    args = parser.parse_args()
    t0 = time.perf_counter()
    with SandboxOrg(opportunities=args.records, page_size=args.page_size) as org:
        seeded = time.perf_counter() - t0
        sf = Salesforce(
            instance_url=org.instance_url,
            session_id=org.access_token,
            version="59.0",
            session=loopback_session(org.instance_url),
        )
        start = time.perf_counter()
        rows = sum(1 for _ in sf.query_all_iter(SOQL, timeout=60))
        elapsed = time.perf_counter() - start
        counters = org.counters()
    print(
        json.dumps(
            {
                "records": rows,
                "pages": counters["calls"].get("query", 0) + counters["calls"].get("query_more", 0),
                "seconds": round(elapsed, 3),
                "records_per_second": round(rows / elapsed),
                "seed_seconds": round(seeded, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
