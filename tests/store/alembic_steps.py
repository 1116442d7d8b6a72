"""Moving a test's store between Alembic revisions (for the migration tests)."""

from __future__ import annotations

from alembic import command
from alembic.script import ScriptDirectory

from sfsync.models import Store

__all__ = ["migrate", "revision_before"]


def migrate(store: Store, revision: str) -> None:
    """Up to the head (`"head"`), or down to `revision`."""
    cfg = store._alembic_config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        if revision == "head":
            command.upgrade(cfg, revision)
        else:
            command.downgrade(cfg, revision)


def revision_before(store: Store, revision: str) -> str:
    """The revision a migration follows (the lead re-chains parallel branches at merge)."""
    script = ScriptDirectory.from_config(store._alembic_config()).get_revision(revision)
    assert script is not None and isinstance(script.down_revision, str)
    return script.down_revision
