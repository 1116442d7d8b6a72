"""The console's long lists page: a fixed number of rows per page, "first to last of total", and
links to the previous and next pages that keep the list's filters."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import Request

__all__ = ["KEYS_PER_PAGE", "LETTERS_PER_PAGE", "RUNS_PER_PAGE", "Pager"]

LETTERS_PER_PAGE = 500
KEYS_PER_PAGE = 500
RUNS_PER_PAGE = 100


@dataclass(frozen=True)
class Pager:
    """Where a page sits in its list: rows `first`..`last` (1-based) of `total`."""

    first: int
    last: int
    total: int
    previous_url: str | None
    next_url: str | None

    @classmethod
    def of(cls, request: Request, offset: int, shown: int, total: int, size: int) -> Pager:
        def url(at: int) -> str:
            params = {k: v for k, v in request.query_params.items() if k != "offset"}
            if at:
                params["offset"] = str(at)
            query = urlencode(params)
            return f"{request.url.path}?{query}" if query else request.url.path

        return cls(
            first=offset + 1 if shown else 0,
            last=offset + shown,
            total=total,
            previous_url=url(max(0, offset - size)) if offset > 0 else None,
            next_url=url(offset + size) if offset + shown < total else None,
        )
