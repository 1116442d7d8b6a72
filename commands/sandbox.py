"""`sfsync sandbox`: serve the sandbox org (its own options; see `sfsync sandbox -h`)."""

from __future__ import annotations

import click

from sfsync.sandbox.cli import sandbox_command

__all__ = ["sandbox"]


@click.command("sandbox", context_settings={"ignore_unknown_options": True}, add_help_option=False)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def sandbox(args: tuple[str, ...]) -> None:
    """Serve a Salesforce-compatible sandbox org on loopback (demo, tests, benchmarks).

    Options: --host, --port (0 = any free), --seed, --accounts, --opportunities, --load FILE.
    """
    sandbox_command.main(args=list(args), prog_name="sfsync sandbox", standalone_mode=True)
