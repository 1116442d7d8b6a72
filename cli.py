"""The `sfsync` command: manual triggers and inspection.

Each group lives in `commands/`; this module only assembles them.
"""

from __future__ import annotations

from pathlib import Path

import click

from commands.aliases import aliases
from commands.api import api_keys, serve
from commands.check import check
from commands.common import App, SfsyncGroup, examples
from commands.contracts import contracts
from commands.demo import demo
from commands.dlq import dlq
from commands.store import customers, db, fields
from commands.sync import runs, sync
from commands.usage import usage


@click.group(
    cls=SfsyncGroup,
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
    ctx.obj = App(overrides=overrides)


for group in (db, customers, aliases, contracts, fields, sync, runs, dlq):
    main.add_command(group)
main.add_command(usage)
main.add_command(demo)
main.add_command(serve)
main.add_command(api_keys)
main.add_command(check)


@main.command("sandbox", context_settings={"ignore_unknown_options": True}, add_help_option=False)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def sandbox(args: tuple[str, ...]) -> None:
    """Serve a Salesforce-compatible sandbox org on loopback (demo, tests, benchmarks).

    Options: --host, --port (0 = any free), --seed, --accounts, --opportunities, --load FILE.
    """
    # Imported here: the product never loads the sandbox unless asked to serve it.
    from sandbox.cli import sandbox_command

    sandbox_command.main(args=list(args), prog_name="sfsync sandbox", standalone_mode=True)


if __name__ == "__main__":  # pragma: no cover
    main()
