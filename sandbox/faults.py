"""Injected failures: the next n requests, a random share, latency and hangs."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

# kind -> (status, errorCode, message), as Salesforce phrases them.
FAULT_KINDS: dict[str, tuple[int, str, str]] = {
    "500": (
        500,
        "UNKNOWN_EXCEPTION",
        "An unexpected error occurred. Please include this ErrorId if you contact support: "
        "1234567890-12345 (-1234567890)",
    ),
    "503": (503, "SERVER_UNAVAILABLE", "Server temporarily unavailable, please try again later"),
    "401": (401, "INVALID_SESSION_ID", "Session expired or invalid"),
    "403": (403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
    "query_timeout": (
        400,
        "QUERY_TIMEOUT",
        "Your query request was running for too long.",
    ),
    "lock": (400, "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record"),
    "locator": (400, "INVALID_QUERY_LOCATOR", "invalid query locator"),
}


@dataclass
class _Rule:
    kind: str | None
    paths: tuple[str, ...]
    remaining: int | None = None
    ratio: float = 0.0
    rng: random.Random | None = None
    latency: float = 0.0
    hang: bool = False

    def matches(self, path: str) -> bool:
        return not self.paths or any(p in path for p in self.paths)


@dataclass
class Decision:
    """What to do to one request before (or instead of) serving it."""

    latency: float = 0.0
    hang: bool = False
    kind: str | None = None


@dataclass
class Faults:
    """Thread-safe fault plan consulted once per Salesforce-surface request."""

    _rules: list[_Rule] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @staticmethod
    def _paths(paths: str | Iterable[str] | None) -> tuple[str, ...]:
        if paths is None:
            return ()
        return (paths,) if isinstance(paths, str) else tuple(paths)

    @staticmethod
    def _check(kind: str) -> str:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        return kind

    def fail_next(self, n: int, kind: str, paths: str | Iterable[str] | None = None) -> None:
        """Fail the next `n` matching requests with `kind`."""
        with self._lock:
            self._rules.append(_Rule(self._check(kind), self._paths(paths), remaining=n))

    def fail_ratio(
        self, ratio: float, kind: str, seed: int = 0, paths: str | Iterable[str] | None = None
    ) -> None:
        """Fail a seeded-random share of matching requests."""
        rule = _Rule(self._check(kind), self._paths(paths), ratio=ratio, rng=random.Random(seed))
        with self._lock:
            self._rules.append(rule)

    def latency(self, seconds: float, paths: str | Iterable[str] | None = None) -> None:
        """Delay every matching request by `seconds`."""
        with self._lock:
            self._rules.append(_Rule(None, self._paths(paths), latency=seconds))

    def hang_next(self, n: int, paths: str | Iterable[str] | None = None) -> None:
        """Block the next `n` matching requests until the server stops (or 60 s)."""
        with self._lock:
            self._rules.append(_Rule(None, self._paths(paths), remaining=n, hang=True))

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._rules.clear()

    def decide(self, path: str) -> Decision:
        """Consume the rules that apply to one request."""
        decision = Decision()
        with self._lock:
            for rule in list(self._rules):
                if not rule.matches(path):
                    continue
                decision.latency += rule.latency
                if rule.remaining is not None:
                    if rule.hang:
                        decision.hang = True
                    elif decision.kind is None:
                        decision.kind = rule.kind
                    else:
                        continue
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._rules.remove(rule)
                elif (
                    rule.rng is not None
                    and decision.kind is None
                    and rule.rng.random() < rule.ratio
                ):
                    decision.kind = rule.kind
        return decision
