"""SOQL errors carrying the Salesforce error code and, for syntax errors, the position."""

from __future__ import annotations


class SoqlError(Exception):
    """Raised for any query Salesforce would refuse with a 400."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def malformed(source: str, pos: int, detail: str) -> SoqlError:
    """MALFORMED_QUERY in Salesforce's style: the query, a caret, row and column."""
    line_start = source.rfind("\n", 0, pos) + 1
    line_end = source.find("\n", pos)
    line = source[line_start : line_end if line_end >= 0 else len(source)]
    row = source.count("\n", 0, pos) + 1
    column = pos - line_start + 1
    message = f"\n{line}\n{' ' * (column - 1)}^\nERROR at Row:{row}:Column:{column}\n{detail}"
    return SoqlError("MALFORMED_QUERY", message)
