"""Where sfsync keeps its state: the data folder, and whether a command is about to create a
new, empty store there (said, never done silently)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from sfsync.config.settings import ENV_PREFIX, Settings

__all__ = [
    "OLD_DEFAULT_DATA_DIR",
    "DataFolder",
    "data_folder",
    "new_store_file",
    "new_store_notice",
]


@dataclass(frozen=True)
class DataFolder:
    """Where sfsync keeps its state, and what chose that folder (`--help`, `sfsync check`)."""

    path: Path
    #: "default" (the platform's user data folder) or "SFSYNC_DATA_DIR / --data-dir".
    chosen_by: str
    #: The SQLite store in it, or None when SFSYNC_DATABASE_URL puts the store elsewhere.
    store_file: Path | None
    store_exists: bool

    def line(self) -> str:
        """One line for humans, e.g. in `sfsync --help`."""
        return f"data folder: {self.summary()}"

    def summary(self) -> str:
        """The folder, what chose it and whether its store exists (`sfsync check`'s row)."""
        store = (
            "store elsewhere (SFSYNC_DATABASE_URL)"
            if self.store_file is None
            else f"store {'present' if self.store_exists else 'not created yet'}"
        )
        return f"{self.path} (chosen by: {self.chosen_by}; {store})"


#: The data folder before it moved to the platform's user data folder (relative to the
#: current folder); a store left there is pointed out rather than silently ignored.
OLD_DEFAULT_DATA_DIR = Path(".sfsync")


def new_store_file(settings: Settings) -> Path | None:
    """The SQLite file opening the store would create (None: it exists, or is not SQLite)."""
    url = make_url(settings.store_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    if url.database.startswith("file:"):
        return None
    path = Path(url.database)
    # A missing folder is the store's own error (a typo), not a store to create.
    return None if path.exists() or not path.parent.is_dir() else path.resolve()


def new_store_notice(settings: Settings) -> str | None:
    """One line saying a command is about to create a new, empty store, and how to point it
    at an existing one (None when the store exists)."""
    path = new_store_file(settings)
    if path is None:
        return None
    if settings.database_url:
        where = f"{ENV_PREFIX}DATABASE_URL / --database-url names {path}, which does not exist"
    else:
        folder = data_folder(settings)
        where = f"no store in the data folder {folder.path} ({folder.chosen_by})"
    hint = f"; set {ENV_PREFIX}DATA_DIR or --data-dir to use an existing one"
    old = OLD_DEFAULT_DATA_DIR / "sfsync.db"
    if not settings.database_url and old.exists() and old.resolve() != path:
        hint = f"; a store exists in {OLD_DEFAULT_DATA_DIR.resolve()}: use --data-dir to open it"
    return f"{where}: creating a new, empty store{hint}"


def data_folder(settings: Settings) -> DataFolder:
    """Where this configuration keeps its state (the data folder and the default store)."""
    chosen = "data_dir" in settings.model_fields_set
    path = settings.data_dir.resolve()
    store_file = None if settings.database_url else path / "sfsync.db"
    return DataFolder(
        path=path,
        chosen_by=f"{ENV_PREFIX}DATA_DIR / --data-dir" if chosen else "default",
        store_file=store_file,
        store_exists=store_file.exists() if store_file is not None else True,
    )
