"""A Salesforce-compatible sandbox org over loopback HTTP for demos, tests and benchmarks.

Standard library only; it imports nothing else from the project.
"""

from sandbox.org import SandboxOrg
from sandbox.soql.errors import SoqlError
from sandbox.store import StoreError

__all__ = ["SandboxOrg", "SoqlError", "StoreError"]
