"""What a callback may use at request time: settings, the serving store and the account store.

Each app keeps one `WebContext` on its Flask server; callbacks reach it
through `web_context()`, so several apps in one process never share state.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb
import flask

from control_tower.accounts import AccountStore
from control_tower.settings import Settings
from control_tower.storage.serving import ServingStore

EXTENSION_KEY = "control_tower"


@dataclass(frozen=True)
class WebContext:
    """Per-app state shared by every request: settings, serving store, account store."""

    settings: Settings
    store: ServingStore
    accounts: AccountStore


def web_context() -> WebContext:
    """The context of the app serving the current request."""
    return flask.current_app.extensions[EXTENSION_KEY]


@contextmanager
def snapshot_cursor() -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor on the newest serving snapshot (raises NoSnapshotError before the first publish)."""
    with web_context().store.cursor() as cur:
        yield cur
