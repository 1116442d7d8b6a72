"""The `sfsync` command: manual triggers and inspection.

Each group lives in `commands/`; this module only assembles them.
"""

from __future__ import annotations

from pathlib import Path

import click

from sfsync.commands.epilog import examples
from sfsync.commands.lazy import LazyGroup

# Each subcommand is imported when it is used, so `sfsync --version` stays light.
COMMANDS = {
    "aliases": "sfsync.commands.aliases:aliases",
    "check": "sfsync.commands.check:check",
    "api-keys": "sfsync.commands.api:api_keys",
    "contracts": "sfsync.commands.contracts:contracts",
    "customers": "sfsync.commands.store:customers",
    "db": "sfsync.commands.store:db",
    "demo": "sfsync.commands.demo:demo",
    "dlq": "sfsync.commands.dlq:dlq",
    "fields": "sfsync.commands.store:fields",
    "runs": "sfsync.commands.runs:runs",
    "sandbox": "sfsync.commands.sandbox:sandbox",
    "serve": "sfsync.commands.api:serve",
    "sync": "sfsync.commands.sync:sync",
    "usage": "sfsync.commands.usage:usage",
}


@click.group(
    cls=LazyGroup,
    lazy_commands=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=examples(
        "sfsync demo                                   # the whole system in ~20 s",
        "sfsync customers list",
        "sfsync sync run --inline                      # poll Salesforce here, now",
        "sfsync usage ingest events.jsonl",
        "sfsync dlq list",
        "sfsync --data-dir /srv/sfsync sync status",
        "sfsync customers list --json | jq '.[].id'    # --json: every row, one document",
    ),
)
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Data folder (overrides SFSYNC_DATA_DIR).",
)
@click.option("--database-url", help="Store URL (overrides SFSYNC_DATABASE_URL).")
@click.version_option(package_name="sfsync")
@click.pass_context
def main(ctx: click.Context, data_dir: Path | None, database_url: str | None) -> None:
    """sfsync: Salesforce closed-won deals become billing customers and contracts."""
    overrides: dict[str, object] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if database_url is not None:
        overrides["database_url"] = database_url
    # Imported here: the store and rich load only once a subcommand runs.
    from sfsync.commands.common import App

    ctx.obj = App(overrides=overrides)


if __name__ == "__main__":  # pragma: no cover
    main()
