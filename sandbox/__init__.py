"""A Salesforce-compatible sandbox org over loopback HTTP for demos, tests and benchmarks.

Standard library only; it imports nothing else from the project.
"""

from sfsync.sandbox.org import SandboxOrg
from sfsync.sandbox.soql.errors import SoqlError
from sfsync.sandbox.writes import StoreError

__all__ = ["SandboxOrg", "SoqlError", "StoreError"]
