"""Product-led signups: a customer that arrives from a website signup instead of a deal."""

from __future__ import annotations

from typing import Any

from sfsync.celery_app import app
from sfsync.sync.signup import provision_signup
from sfsync.tasks import context, names
from sfsync.tasks.base import SfsyncTask

__all__ = ["SignupTask", "provision_customer_task"]


class SignupTask(SfsyncTask):
    abstract = True

    def dead_letter_reference(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
        value = args[0] if args else kwargs.get("internal_id")
        return f"signup:{value}" if value else None


@app.task(base=SignupTask, bind=True, name=names.PROVISION_SIGNUP)
def provision_customer_task(
    self: SfsyncTask,
    internal_id: str,
    name: str,
    aliases: list[str] | None = None,
    custom_fields: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Create (or update) the customer for an internal id; idempotent."""
    with context.store().session() as s:
        customer_id, created = provision_signup(
            s, internal_id, name, aliases or [], custom_fields or {}
        )
    return {"customer_id": str(customer_id), "created": created}
