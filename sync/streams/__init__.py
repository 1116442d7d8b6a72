"""Streams as objects: each stream is one class, and one registry lists them.

    base.py           `SyncStream` (name, task, cadence, letters, `run`, `replay`) and
                      `IncrementalStream` (a source, `prepare`, `apply`, through the runner)
    lease.py          `leased_run`: one run at a time per stream
    registry.py       `STREAMS`: what the tasks, beat, the CLI and replay iterate
    opportunities.py  the closed-won stream
    accounts.py       the account stream
    reconcile.py      the daily reconciliation

Adding a stream is one module here plus one line in `registry.py` (and its task's name in
`tasks/names.py`, where every task name is defined).
"""

__all__: list[str] = []
