"""The command-line reference: every `sfsync` command, from its click definition."""

from __future__ import annotations

import inspect

import click

from docsgen.markdown import code, table


def _commands(
    command: click.Command, ctx: click.Context
) -> list[tuple[click.Command, click.Context]]:
    found = [(command, ctx)]
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is None or sub.hidden:
                continue
            found += _commands(sub, click.Context(sub, info_name=name, parent=ctx))
    return found


def _options(command: click.Command, ctx: click.Context) -> str:
    rows = []
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx) if isinstance(param, click.Option) else None
        if record is None:  # arguments (named in the usage line), hidden options
            continue
        names, help_text = record
        rows.append((code(names), help_text))
    return table(("option", "meaning"), rows) if rows else ""


def _text(text: str | None) -> str:
    """Help text as click writes it: `\\b` (keep as written) markers dropped, dedented."""
    return inspect.cleandoc((text or "").replace("\b\n", ""))


def _epilog(command: click.Command) -> str:
    text = (command.epilog or "").replace("\b\n", "").strip("\n")
    return f"```text\n{text}\n```" if text else ""


def cli_reference(root: click.Command, name: str = "sfsync", top: int = 2) -> str:
    """Markdown for `root` and every visible command below it: usage, help, options,
    examples; one heading per command, named by its full command line (`root`'s at level
    `top`, each group's commands one level below it)."""
    sections = []
    for command, ctx in _commands(root, click.Context(root, info_name=name)):
        depth = len(ctx.command_path.split())
        heading = "#" * min(depth + top - 1, 6)
        usage = f"```text\n{command.get_usage(ctx).strip()}\n```"
        parts = [f"{heading} {ctx.command_path}", usage, _text(command.help)]
        parts += [_options(command, ctx), _epilog(command)]
        sections.append("\n\n".join(part.strip() for part in parts if part.strip()))
    return "\n\n".join(sections)
