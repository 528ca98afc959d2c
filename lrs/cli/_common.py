"""What the commands share: the settings and store of --database, and the one-line user errors."""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
from pathlib import Path
from typing import Any

from lrs.config import Settings
from lrs.store.base import open_store, sqlite_path


def _user_error(exc: Exception) -> str | None:
    """A one-line message for an error a user can fix (a bad argument, path or database); None for a bug."""
    if isinstance(exc, (ValueError, OverflowError)):
        return str(exc)
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or exc}{where}"
    if isinstance(exc, sqlite3.Error):
        return f"the SQLite database: {exc}"
    if type(exc).__module__.startswith(("pymongo", "bson")):
        return f"MongoDB: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
    return None


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env(database_url=args.database)
    sqlite_path(settings.database_url)  # a URL that names no database is an error now, not a file called "bogus?"
    return settings


def _with_store(
    args: argparse.Namespace, action: Any, *, create: bool = False, settings: Settings | None = None
) -> Any:
    """Run ``action(store, settings)`` on the --database store (``settings``: read already); one that
    does not exist is created only when ``create`` (a command that only reads or revokes refuses a
    database that is not there)."""
    settings = settings or _settings(args)
    if not create:
        _check_exists(settings.database_url)

    async def run() -> Any:
        store = open_store(settings.database_url, writer="thread")
        await store.open()
        try:
            return await action(store, settings)
        finally:
            await store.close()

    return asyncio.run(run())


def _check_exists(url: str) -> None:
    path = sqlite_path(url)
    if path is not None and not Path(path).is_file():
        raise ValueError(f"no SQLite database at {path} (check --database or LRS_DATABASE_URL)")
