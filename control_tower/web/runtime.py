"""What a callback may use at request time: settings and every store and cache of its app.

Each app keeps one `WebContext` on its Flask server; callbacks reach it
through `web_context()`, so several apps in one process (two data folders,
tests, tools) never share a store, a connection pool or a cached answer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager

import duckdb
import flask

from control_tower.accounts import Account, AccountStore, Scope
from control_tower.exceptions.store import ExceptionStore
from control_tower.kpi.catalog import Catalog, SignOff
from control_tower.kpi.serving import SnapshotCache, keeping
from control_tower.kpi.signoffs import read_signoffs
from control_tower.settings import Settings
from control_tower.storage.serving import ServingStore
from control_tower.views.kpi import cached_catalog
from control_tower.web.throttle import ComputeBudget, SignInThrottle

EXTENSION_KEY = "control_tower"
# Per-snapshot answers one app keeps (KPI series, lookups), over every snapshot it reads.
ANSWERS_CACHE_SIZE = 2048

__all__ = ["EXTENSION_KEY", "WebContext", "snapshot_cursor", "web_context"]


class WebContext:
    """Per-app state shared by every request of one app.

    - `settings`: the installation's settings.
    - `store`: the serving snapshots (DuckDB, read-only).
    - `accounts`: users, sessions and tokens.
    - `exceptions`: the exception queue in the app database, opened on first use.
    - `snapshot()`: a cursor on the newest serving snapshot, inside which the per-snapshot
      answers of every layer (`kpi.serving.kept`: KPI series, the values' day, freshness,
      data-health and catalog lookups) are read once per snapshot into `answers`.
    - `cache(name, size)`: answers kept per serving snapshot, one cache per name.
    - `catalog()`: the validated KPI catalog of the installation's definitions, every KPI's
      status following its sign-offs (`kpi.certification`).
    - `sign_ins`, `computations`: this app's rate limits (`throttle`).
    - `clock`: seconds since the epoch, for rate limits and idle sessions (tests replace it).
    """

    def __init__(self, settings: Settings, store: ServingStore, accounts: AccountStore) -> None:
        self.settings = settings
        self.store = store
        self.accounts = accounts
        self._exceptions: ExceptionStore | None = None
        self._certified: tuple[Catalog, tuple[SignOff, ...], Catalog] | None = None
        self._caches: dict[str, SnapshotCache] = {}
        self.answers = SnapshotCache(ANSWERS_CACHE_SIZE)
        self._lock = threading.Lock()
        self.clock = time.time
        self.sign_ins = SignInThrottle(
            max_delay=settings.lockout_minutes * 60, clock=lambda: self.clock()
        )
        self.computations = ComputeBudget(
            settings.kpi_computations_per_minute, clock=lambda: self.clock()
        )

    @property
    def exceptions(self) -> ExceptionStore:
        """The exception store of this app's database (opened once, on first use)."""
        with self._lock:
            if self._exceptions is None:
                self._exceptions = ExceptionStore.open(self.settings.app_db_url)
            return self._exceptions

    def catalog(self) -> Catalog:
        """The installation's KPI catalog (validated; reloaded when a definition file changes),
        its statuses following every sign-off: the definitions folders' logs and the app
        database's (read on each call: another process may have recorded one)."""
        base = cached_catalog(self.settings.kpi_definitions)
        recorded = tuple(read_signoffs(self.exceptions))
        with self._lock:
            hit = self._certified
            if hit is not None and hit[0] is base and hit[1] == recorded:
                return hit[2]
        catalog = base.with_signoffs(recorded)
        with self._lock:
            self._certified = (base, recorded, catalog)
        return catalog

    @contextmanager
    def snapshot(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor on the newest serving snapshot (raises NoSnapshotError before the first
        publish), with the snapshot's answers kept in `answers` for the block (`keeping`).

        The snapshot is named by the path the pointer gave before the cursor was opened: the
        cursor reads that snapshot or, when a publish falls in between, a newer one, so an
        answer is never kept under the name of a newer snapshot than it was read from."""
        identity = self.store.snapshot_path()
        with self.store.cursor() as cur, keeping(identity, self.answers):
            yield cur

    def cache(self, name: str, size: int) -> SnapshotCache:
        """This app's snapshot cache called `name` (made on first use with room for `size`)."""
        with self._lock:
            cache = self._caches.get(name)
            if cache is None:
                cache = self._caches[name] = SnapshotCache(size)
            return cache

    def assignable(
        self, scope: Scope | None = None, roles: Collection[str] | None = None
    ) -> list[Account]:
        """The active users (of these roles, if given) one may assign work to, by name.

        With `scope`, only users whose scope shares rows with it: a person picks
        assignees among the people who work on the same sites and entities, and
        learns nothing of the others."""
        return [
            a
            for a in self.accounts.list_users()
            if not a.disabled
            and (roles is None or a.role in roles)
            and (scope is None or a.scope.overlaps(scope))
        ]

    def active_users(
        self, scope: Scope | None = None, roles: Collection[str] | None = None
    ) -> list[str]:
        """Names of `assignable(scope, roles)`, sorted."""
        return sorted(a.name for a in self.assignable(scope, roles))

    def close(self) -> None:
        """Release every store this app opened."""
        self.store.close()
        self.accounts.close()
        with self._lock:
            if self._exceptions is not None:
                self._exceptions.close()
                self._exceptions = None
            self._caches.clear()
        self.answers.clear()


def web_context() -> WebContext:
    """The context of the app serving the current request."""
    return flask.current_app.extensions[EXTENSION_KEY]


@contextmanager
def snapshot_cursor() -> Iterator[duckdb.DuckDBPyConnection]:
    """`web_context().snapshot()`: a cursor on the newest serving snapshot, its answers kept."""
    with web_context().snapshot() as cur:
        yield cur
