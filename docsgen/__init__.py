"""The docs site's generated reference pages (MkDocs hook: `docsgen/hooks.py`).

A page asks for a generated part with a marker line such as ``<!-- generated: settings -->``;
each part is built from the code it documents, so it cannot drift from it:

- ``settings``: every `config.Settings` field, its default and description;
- ``cli``: every `sfsync` command from its click definition;
- ``openapi``: every operation of the HTTP API's OpenAPI document.

Not part of the installed product: only the docs build and the tests import it.
"""

from __future__ import annotations

from docsgen.cli_reference import cli_reference
from docsgen.markers import MARKER, UnknownMarker, expand
from docsgen.openapi_reference import openapi_document, openapi_reference
from docsgen.settings_reference import settings_reference

__all__ = [
    "MARKER",
    "UnknownMarker",
    "cli_reference",
    "expand",
    "openapi_document",
    "openapi_reference",
    "settings_reference",
]
