"""What usage ingestion refuses, one tree:

    UsageError (ValueError)      a usage input the rules or the reader refuse
    ├── InvalidUsageEvent        one event breaks a rule; the message says which and what
    │                            to do. `ingest` never lets it out: it becomes that event's
    │                            dead letter (error class "InvalidUsageEvent") and the rest
    │                            of the batch goes on. A replay's validation raises it.
    └── UnreadableInput          the input cannot be read on (a JSON array that is broken
                                 or not closed); what came before it was yielded and stays
                                 good, the CLI stops there.

Both are bad values a caller sent, not faults of the system, hence `ValueError` (which
they were before the tree, so code catching that keeps working). A line that is not JSON
is no exception at all: the reader yields it as an `Unparsable` stand-in, which validation
rejects like any other invalid event. `Limits.of` given a naive `now` is a programming
error and stays a plain `ValueError`.
"""

from __future__ import annotations

__all__ = ["InvalidUsageEvent", "UnreadableInput", "UsageError"]


class UsageError(ValueError):
    """A usage input refused; the message says why."""


class InvalidUsageEvent(UsageError):
    """An event breaks a rule; the message says which and what to do."""


class UnreadableInput(UsageError):
    """The input cannot be read on (a JSON array that is broken or not closed)."""
