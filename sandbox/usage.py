"""Call counters and the rolling API allowance behind Sforce-Limit-Info."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class Usage:
    """Counts requests per kind, API calls against the allowance, rows and query pages served."""

    def __init__(self, allowance: int) -> None:
        self._lock = threading.Lock()
        self.allowance = allowance
        self.used = 0
        self.calls: Counter[str] = Counter()
        self.rows_served = 0
        self.queries: Counter[str] = Counter()
        self.timeouts: Counter[str] = Counter()

    def count_call(self, category: str) -> None:
        """Record one request of `category`, whatever its outcome."""
        with self._lock:
            self.calls[category] += 1

    def consume(self) -> bool:
        """Take one API call from the allowance; False when it is used up."""
        with self._lock:
            if self.used >= self.allowance:
                return False
            self.used += 1
            return True

    def add_rows(self, n: int) -> None:
        """Record query rows sent."""
        with self._lock:
            self.rows_served += n

    def count_query(self, shape: str) -> None:
        """Record one page served (first or query_more) of a query of this shape."""
        with self._lock:
            self.queries[shape] += 1

    def count_timeout(self, shape: str) -> None:
        """Record one query of this shape refused with QUERY_TIMEOUT."""
        with self._lock:
            self.timeouts[shape] += 1

    def header(self) -> str:
        """Value of the Sforce-Limit-Info header."""
        with self._lock:
            return f"api-usage={self.used}/{self.allowance}"

    def snapshot(self) -> dict[str, Any]:
        """Counters as plain JSON."""
        with self._lock:
            return {
                "calls": dict(self.calls),
                "api_calls_total": self.used,
                "rows_served": self.rows_served,
                "api_allowance": self.allowance,
                "queries": dict(self.queries),
                "query_timeouts": dict(self.timeouts),
            }

    def reset_counters(self) -> None:
        """Zero the per-kind counters, rows and query pages served (not the allowance usage)."""
        with self._lock:
            self.calls.clear()
            self.rows_served = 0
            self.queries.clear()
            self.timeouts.clear()

    def reset_usage(self) -> None:
        """Start a fresh 24-hour allowance window."""
        with self._lock:
            self.used = 0

    def set_allowance(self, n: int) -> None:
        """Change the allowance."""
        with self._lock:
            self.allowance = n
