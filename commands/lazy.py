"""The `sfsync` group's light shell: subcommands imported only when one is asked for.

`sfsync --version` and the group's own option parsing import click and nothing else of the
project; the store, Celery, rich and the HTTP stack load with the command that needs them.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import click

__all__ = ["LazyGroup"]


class LazyGroup(click.Group):
    """A click group whose subcommands are `module:attribute` paths, imported on first use.

    Invoking a subcommand runs inside `commands.common.command_errors`, which turns the
    project's expected errors into one line on stderr and an exit code.
    """

    def __init__(self, *args: Any, lazy_commands: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lazy = dict(lazy_commands)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        path = self._lazy.get(cmd_name)
        if path is None:
            return super().get_command(ctx, cmd_name)
        module, _, attribute = path.partition(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):  # pragma: no cover - a wiring mistake
            raise TypeError(f"{path} is not a click command")
        return command

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        if ctx.parent is None:  # `sfsync --help` says where the state lives
            from sfsync.commands.common import data_folder_line

            formatter.write_paragraph()
            # Not rewrapped: a path is never broken at its hyphens (`\b` keeps it whole).
            formatter.write_text(f"\b\n{data_folder_line()}")

    def invoke(self, ctx: click.Context) -> Any:
        # Imported here, not at the top: it loads the store and rich, which --version must not.
        from sfsync.commands.common import command_errors

        with command_errors(ctx):
            return super().invoke(ctx)
