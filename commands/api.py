"""The HTTP API's commands: `serve` and `api-keys create|list|revoke`."""

from __future__ import annotations

import importlib

import click

from sfsync.commands.common import App, console, emit_json, json_option, pass_app
from sfsync.commands.epilog import examples
from sfsync.commands.output import Column, print_table
from sfsync.config.loading import environment_for
from sfsync.models.operations.api_keys import create_key, list_keys, revoke_key
from sfsync.models.tables import ApiKey
from sfsync.models.types import ApiScope

__all__ = [
    "SERVER",
    "api_keys",
    "api_keys_create",
    "api_keys_list",
    "api_keys_revoke",
    "key_view",
    "serve",
]

#: The HTTP server's entry point (`api/serve.py`), by import string as uvicorn takes its app:
#: the commands never import the HTTP application, and `sfsync api-keys` never loads it.
SERVER = "sfsync.api.serve:serve"


@click.command(
    "serve",
    epilog=examples(
        "sfsync serve                                  # http://127.0.0.1:8080, /docs",
        "sfsync serve --host 0.0.0.0 --port 8080 --workers 2",
        "sfsync api-keys create billing --scope write  # then send it as a Bearer token",
    ),
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Processes."
)
@pass_app
def serve(app: App, host: str, port: int, workers: int) -> None:
    """Serve the HTTP API: Metronome-compatible /v1, Salesforce call-ins, /docs, /healthz."""
    store = app.store  # migrates SQLite, refuses a PostgreSQL store behind (exit 2)
    module, _, name = SERVER.partition(":")
    start = getattr(importlib.import_module(module), name)
    start(
        app.settings, store, environment_for(app.overrides), host=host, port=port, workers=workers
    )


def key_view(key: ApiKey) -> dict[str, object]:
    return {
        "key_id": key.key_id,
        "name": key.name,
        "scope": key.scope,
        "created_at": key.created_at,
        "revoked_at": key.revoked_at,
    }


@click.group(
    "api-keys",
    epilog=examples(
        "sfsync api-keys create ingest-pipeline --scope ingest",
        "sfsync api-keys list --json",
        "sfsync api-keys revoke KEY_ID",
    ),
)
def api_keys() -> None:
    """API keys of the HTTP API (stored hashed; the secret is shown once)."""


@api_keys.command("create")
@click.argument("name")
@click.option(
    "--scope",
    required=True,
    type=click.Choice([s.value for s in ApiScope]),
    help="ingest: POST /v1/ingest; read: GET and search; write: read, ingest and changes; "
    "admin: everything, archiving and key removal too.",
)
@json_option
@pass_app
def api_keys_create(app: App, name: str, scope: str, as_json: bool) -> None:
    """Create a key and print its secret, once."""
    with app.session() as s:
        issued = create_key(s, name, ApiScope(scope))
    if as_json:
        emit_json(
            {
                "key_id": issued.key_id,
                "name": issued.name,
                "scope": issued.scope,
                "token": issued.token,
            }
        )
        return
    console.print(
        f"created API key {issued.key_id} ({issued.name}, scope {issued.scope}); "
        "its secret is shown now and never again:",
        highlight=False,
    )
    click.echo(issued.token)


@api_keys.command("list")
@json_option
@pass_app
def api_keys_list(app: App, as_json: bool) -> None:
    """List keys (never their secrets)."""
    with app.session() as s:
        keys = list_keys(s)
    if as_json:
        emit_json([key_view(k) for k in keys])
        return
    print_table(
        [
            Column("key_id", key=True),
            Column("name"),
            Column("scope"),
            Column("created"),
            Column("revoked"),
        ],
        (
            (
                key.key_id,
                key.name,
                key.scope.value,
                key.created_at.strftime("%Y-%m-%d %H:%M"),
                key.revoked_at.strftime("%Y-%m-%d %H:%M") if key.revoked_at else "",
            )
            for key in keys
        ),
    )


@api_keys.command("revoke")
@click.argument("key_id")
@json_option
@pass_app
def api_keys_revoke(app: App, key_id: str, as_json: bool) -> None:
    """Revoke a key: it authenticates nothing from now on."""
    with app.session() as s:
        row = key_view(revoke_key(s, key_id))
    if as_json:
        emit_json(row)
        return
    console.print(f"revoked API key {key_id}", highlight=False)
