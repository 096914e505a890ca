"""Private copies of a landed data folder, for tests that change what the app shows."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from control_tower.settings import Settings

UNRESOLVED = "('open', 'acknowledged', 'snoozed')"  # exception statuses still in a queue (SQL)


def private_copy(settings: Settings, home: Path) -> Settings:
    """The folder's snapshots and app database copied to `home` (safe to change)."""
    shutil.copytree(settings.serving_dir, home / "serving")
    src = sqlite3.connect(settings.app_db_url.removeprefix("sqlite:///"))
    dst = sqlite3.connect(home / "app.sqlite")
    src.backup(dst)
    src.close()
    dst.close()
    return settings.with_home(home)


def app_db(settings: Settings) -> sqlite3.Connection:
    """A connection to the folder's app database (users, exception items)."""
    return sqlite3.connect(settings.app_db_url.removeprefix("sqlite:///"))


def unresolved_ids(settings: Settings, location: str, *, descending: bool = False) -> list[int]:
    """The ids of the location's exception items still in a queue, straight from the app
    database, in id order."""
    order = "DESC" if descending else ""
    with app_db(settings) as db:
        return [
            r[0]
            for r in db.execute(
                f"SELECT id FROM exc_items WHERE location_id = ? AND status IN {UNRESOLVED} "
                f"ORDER BY id {order}",
                [location],
            )
        ]
