"""Dead-letter commands: list, show, retry, discard, stats."""

from __future__ import annotations

import getpass
import json
from typing import Any

import click

from sfsync import celery_app
from sfsync.commands.common import (
    App,
    console,
    emit_json,
    err_console,
    json_option,
    parse_instant,
    pass_app,
    producer,
    warn_if_no_worker,
)
from sfsync.commands.epilog import examples
from sfsync.commands.output import Column, note, print_lines, print_table, safe_text, table_options
from sfsync.models.operations.deadletters import discard, get_letter, list_letters, stats
from sfsync.models.tables import DeadLetter
from sfsync.models.types import DeadLetterSource, DeadLetterStatus
from sfsync.tasks.letters import letter_task
from sfsync.tasks.names import REPLAY_LETTER

__all__ = [
    "dlq",
    "dlq_discard",
    "dlq_list",
    "dlq_retry",
    "dlq_show",
    "dlq_stats",
    "letter_view",
    "source_choice",
]

source_choice = click.Choice([s.value for s in DeadLetterSource])


def cli_actor() -> str:
    """What a letter records of who replayed or discarded it from here: the login name."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name (a container with an unnamed uid)
        return "cli"


def letter_view(letter: DeadLetter, *, detail: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": letter.id,
        "source": letter.source,
        "reference": letter.reference,
        "status": letter.status,
        "error_class": letter.error_class,
        "error_message": letter.error_message,
        "attempts": letter.attempts,
        "first_failed_at": letter.first_failed_at,
        "last_failed_at": letter.last_failed_at,
        "resolved_at": letter.resolved_at,
        "actor": letter.actor,
        "task_name": letter_task(letter),
    }
    if detail:
        view.update(
            task_id=letter.task_id,
            task_args=letter.task_args,
            payload=letter.payload,
            traceback=letter.traceback,
            error_history=letter.error_history or [],
            discard_reason=letter.discard_reason,
        )
    return view


@click.group(
    epilog=examples(
        "sfsync dlq stats",
        "sfsync dlq list --source usage.event",
        "sfsync dlq show 7",
        "sfsync dlq retry 7 --inline            # after fixing the cause",
        'sfsync dlq discard 7 --reason "test deal, deleted in Salesforce"',
    )
)
def dlq() -> None:
    """Dead letters: what failed, why, and replay once fixed."""


@dlq.command("list")
@table_options
@click.option(
    "--status",
    type=click.Choice([s.value for s in DeadLetterStatus]),
    default="open",
    show_default=True,
)
@click.option("--source", type=source_choice)
@click.option("--since", help="Only letters that failed at or after this ISO 8601 instant.")
@click.option("--limit", default=1000, show_default=True)
@json_option
@pass_app
def dlq_list(
    app: App, status: str, source: str | None, since: str | None, limit: int, as_json: bool
) -> None:
    """List dead letters."""
    with app.session() as s:
        rows = [
            letter_view(letter)
            for letter in list_letters(
                s,
                status=DeadLetterStatus(status),
                source=DeadLetterSource(source) if source else None,
                since=parse_instant(since, "--since") if since else None,
                limit=limit,
            )
        ]
    if as_json:
        emit_json(rows)
        return
    shown = print_table(
        [
            Column("id", key=True, priority=0),
            Column("when", priority=2),
            Column("source", key=True, priority=3),
            Column("reference", key=True, priority=1),
            Column("error", priority=5),
            Column("attempts", priority=4),
        ],
        (
            (
                r["id"],
                r["last_failed_at"].strftime("%Y-%m-%d %H:%M:%S"),
                r["source"].value,
                r["reference"] or "-",
                f"{r['error_class']}: {r['error_message']}"[:120],
                r["attempts"],
            )
            for r in rows
        ),
    )
    if not shown:
        note(f"no {status} dead letters")


@dlq.command("show")
@click.argument("letter_id", type=int)
@json_option
@pass_app
def dlq_show(app: App, letter_id: int, as_json: bool) -> None:
    """One dead letter: payload, the whole error, its failed replays, traceback."""
    with app.session() as s:
        view = letter_view(get_letter(s, letter_id), detail=True)
    if as_json:
        emit_json(view)
        return
    lines = []
    for key in ("id", "source", "reference", "status", "attempts", "actor", "task_name", "task_id"):
        shown = getattr(view[key], "value", view[key])
        lines.append(f"{key}: {shown if shown is not None else '-'}")
    lines.append(f"error: {view['error_class']}: {view['error_message']}")
    if view["discard_reason"] is not None:
        lines.append(f"discard reason: {view['discard_reason']}")
    if view["error_history"]:
        lines.append("error history (failed replays, oldest first):")
        lines.extend(
            f"  {h.get('at') or '-'}  {h.get('error_class')}: {h.get('error_message')}"
            f"  (actor: {h.get('actor') or '-'})"
            for h in view["error_history"]
        )
    if view["payload"] is not None:
        lines.append("payload:")
        lines.extend(json.dumps(view["payload"], indent=2, default=str).splitlines())
    if view["traceback"]:
        lines.extend(str(view["traceback"]).splitlines())
    print_lines(*lines)


@dlq.command("retry")
@click.argument("letter_ids", metavar="ID...", nargs=-1, type=int)
@click.option("--all", "retry_all", is_flag=True, help="Every open letter (of --source).")
@click.option("--source", type=source_choice, help="With --all: only this source.")
@click.option("--inline", is_flag=True, help="Re-process here instead of enqueueing.")
@click.option(
    "--accept-change",
    is_flag=True,
    help="Apply a currency change or moved start on a started contract (opportunity letters).",
)
@json_option
@pass_app
def dlq_retry(
    app: App,
    letter_ids: tuple[int, ...],
    retry_all: bool,
    source: str | None,
    inline: bool,
    accept_change: bool,
    as_json: bool,
) -> None:
    """Replay dead letters (enqueued for the worker, or --inline here).

    A change that would rewrite a started contract's billed history stays a dead letter
    until it is replayed with --accept-change.
    """
    if bool(letter_ids) == retry_all:
        raise click.UsageError("give letter ids or --all")
    ids = list(letter_ids)
    actor = cli_actor()
    if retry_all:
        with app.session() as s:
            ids = [
                letter.id
                for letter in list_letters(
                    s, source=DeadLetterSource(source) if source else None, limit=100_000
                )
            ]
    else:
        with app.session() as s:
            for letter_id in ids:
                get_letter(s, letter_id)
    if not inline:
        celery = producer(app)
        enqueued = [
            str(
                celery.send_task(
                    REPLAY_LETTER,
                    args=[i],
                    kwargs={"actor": actor, **({"accept_change": True} if accept_change else {})},
                ).id
            )
            for i in ids
        ]
        warn_if_no_worker(celery, REPLAY_LETTER)
        if as_json:
            emit_json(
                {
                    "enqueued": [
                        {"letter_id": i, "task_id": t} for i, t in zip(ids, enqueued, strict=True)
                    ]
                }
            )
        else:
            console.print(f"enqueued {len(ids)} replay(s)")
        return
    # Tasks imported from here on bind to an app built from this command's settings: a task
    # module imported at the top would bind to one built from the environment instead.
    celery_app.use_settings(app.settings)
    from sfsync.tasks import context  # noqa: PLC0415 - after use_settings, see above
    from sfsync.tasks.replay import replay  # noqa: PLC0415 - after use_settings, see above

    context.configure(app.settings)
    results = [replay(i, accept_change, actor) for i in ids]
    if as_json:
        emit_json(results)
    else:
        for r in results:
            if r["replayed"]:
                console.print(f"letter {r['letter_id']}: replayed", highlight=False)
            else:
                err_console.print(
                    safe_text(f"letter {r['letter_id']}: still failing: {r['error']}"),
                    highlight=False,
                )
    if not all(r["replayed"] for r in results):
        raise SystemExit(1)


@dlq.command("discard")
@click.argument("letter_ids", metavar="ID...", nargs=-1, type=int, required=True)
@click.option("--reason", required=True, help="Why this letter needs no replay.")
@json_option
@pass_app
def dlq_discard(app: App, letter_ids: tuple[int, ...], reason: str, as_json: bool) -> None:
    """Close dead letters without replaying them."""
    with app.session() as s:
        for letter_id in letter_ids:
            discard(s, get_letter(s, letter_id), reason, cli_actor())
    if as_json:
        emit_json({"discarded": list(letter_ids), "reason": reason})
        return
    console.print(f"discarded {len(letter_ids)} letter(s)")


@dlq.command("stats")
@table_options
@json_option
@pass_app
def dlq_stats(app: App, as_json: bool) -> None:
    """Open letters per source and error."""
    with app.session() as s:
        counts = stats(s)
    if as_json:
        emit_json([{"source": src, "error_class": err, "open": n} for src, err, n in counts])
        return
    shown = print_table(
        [Column("source", key=True), Column("error"), Column("open")],
        ((src.value, err, n) for src, err, n in counts),
    )
    if not shown:
        note("no open dead letters")
