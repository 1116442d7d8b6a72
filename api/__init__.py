"""The HTTP application (`sfsync serve`): the Metronome-compatible API and Salesforce call-ins.

Uses `sync/` and `models/` like the CLI does, and enqueues tasks by name only.
"""

from sfsync.api.app import create_app

__all__ = ["create_app"]
