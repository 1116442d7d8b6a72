"""Commands that connect check the mapping against the org first (`sync.mapping_check`)."""

from __future__ import annotations

from rich.text import Text

from sfsync.commands.common import err_console
from sfsync.commands.output import safe_text
from sfsync.config import Settings
from sfsync.sync.mapping_check import validate_mapping_against_org
from sfsync.sync.salesforce import SalesforceClient

__all__ = ["require_mapping_fits"]


def require_mapping_fits(client: SalesforceClient, settings: Settings) -> None:
    """Each problem of the mapping in this org on its own line, then exit 2 (a
    configuration error: nothing was read or written yet)."""
    problems = validate_mapping_against_org(client, settings)
    for problem in problems:
        err_console.print(
            Text.assemble(("error:", "bold red"), " ", safe_text(problem)),
            highlight=False,
            soft_wrap=True,
        )
    if problems:
        raise SystemExit(2)
