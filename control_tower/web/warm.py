"""Warming a web worker's answers when a new serving snapshot is published.

Answers are kept per snapshot (`WebContext.snapshot`), so after each publish
the first request of every page in every worker would pay for reading the
new snapshot: KPI series, freshness, the data-health summary. Instead, each
worker process runs a `SnapshotWatcher`: a daemon thread that looks at the
serving pointer every `Settings.web_warm_seconds` and, when it names a
snapshot this worker has not warmed yet (and once at start), computes the
answers pages open with into the app's caches before users ask for them,
then forgets the answers of older snapshots.

What is warmed is registered by the pages (`warmer`): each role page's
opening view (the filter bar's defaults) for the scopes of the active users
who may open it, the data-health summary, the catalog's lookups. Warming
never holds a lock a request needs: a request that asks for an answer being
warmed waits for that one answer instead of computing it again, and anything
not warmed yet is computed by the request as before.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import flask

from control_tower.accounts import Scope
from control_tower.kpi.serving import snapshot_identity
from control_tower.storage.serving import NoSnapshotError, current_snapshot
from control_tower.web.filters import opening_view
from control_tower.web.runtime import EXTENSION_KEY, WebContext

log = logging.getLogger(__name__)

# Scopes warmed per page: the most common among its active users (each is one set of answers).
MAX_SCOPES = 8
STOP_WAIT_S = 30.0  # how long `stop` waits for a warming in progress to notice

# warm(cursor, context, scopes): compute what the page opens with, for each scope.
Warm = Callable[[duckdb.DuckDBPyConnection, WebContext, Sequence[Scope]], None]


@dataclass(frozen=True)
class _Warmer:
    name: str
    roles: tuple[str, ...]
    warm: Warm


_WARMERS: dict[str, _Warmer] = {}


def warmer(name: str, roles: Sequence[str] = ()) -> Callable[[Warm], Warm]:
    """Register `warm(cur, context, scopes)` as what to compute on each new snapshot, called
    with the scopes of the active users of `roles` (no scope when `roles` is empty: the
    answers are the same for everyone). Registering a name again replaces it."""

    def register(warm: Warm) -> Warm:
        _WARMERS[name] = _Warmer(name, tuple(roles), warm)
        return warm

    return register


def warm_page(name: str, roles: Sequence[str], page: Callable[..., Any]) -> None:
    """Register a role page's body (`kpi_ui.register_page_body`'s `page(cur, scope, filters,
    definitions)`): what it shows as it opens, with no filter chosen, for each scope."""

    def warm_body(cur: duckdb.DuckDBPyConnection, context: WebContext, scopes: Any) -> None:
        view = opening_view(cur)
        for scope in scopes if view is not None else []:
            page(cur, scope, view, context.settings.kpi_definitions)

    warmer(name, roles)(warm_body)


def warm_scopes(context: WebContext, roles: Sequence[str]) -> list[Scope]:
    """The distinct scopes of the active users of `roles`, the most common first (at most
    MAX_SCOPES)."""
    counts = Counter(a.scope for a in context.assignable(roles=roles))
    return [scope for scope, _n in counts.most_common(MAX_SCOPES)]


@dataclass
class WarmReport:
    """One warming: the snapshot, and each warmer's seconds (or its error)."""

    snapshot: Hashable | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def warm(server: flask.Flask, stop: Callable[[], bool] = lambda: False) -> WarmReport:
    """Compute every registered warmer's answers on the newest snapshot into the caches of the
    app served by `server`, then forget older snapshots' answers. A failing warmer is logged
    and skipped (its page computes its answers on request); `stop()` ends it early."""
    context: WebContext = server.extensions[EXTENSION_KEY]
    report = WarmReport()
    with server.app_context(), context.snapshot() as cur:
        report.snapshot = snapshot_identity(cur)
        for w in list(_WARMERS.values()):
            if stop():
                break
            started = time.perf_counter()
            try:
                w.warm(cur, context, warm_scopes(context, w.roles) if w.roles else [])
            except Exception as exc:  # a page's failure must not stop the others
                log.exception("warming %s failed on %s", w.name, report.snapshot)
                report.errors[w.name] = f"{type(exc).__name__}: {exc}"
            report.seconds[w.name] = time.perf_counter() - started
    context.answers.retain(report.snapshot)
    return report


class SnapshotWatcher:
    """Warms each new serving snapshot in the background (one per worker process)."""

    def __init__(self, server: flask.Flask, interval_s: float) -> None:
        self.server = server
        self.interval_s = interval_s
        self.warmed: Hashable | None = None  # the snapshot last warmed
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> WarmReport | None:
        """Warm the newest snapshot unless it has been warmed already; the report, or None
        when there was nothing new (or nothing published yet)."""
        context: WebContext = self.server.extensions[EXTENSION_KEY]
        newest = current_snapshot(context.store.serving_dir)
        if newest is None or newest == self.warmed:
            return None
        try:
            report = warm(self.server, self._stop.is_set)
        except NoSnapshotError:
            return None
        self.warmed = report.snapshot
        total = sum(report.seconds.values())
        log.info("warmed %s in %.1f s (%d failed)", report.snapshot, total, len(report.errors))
        return report

    def start(self) -> None:
        """Start watching, in a daemon thread of this process."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="control-tower-warm", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.check()
            except Exception:  # keep watching: the next snapshot may warm
                log.exception("warming the newest serving snapshot failed")
            self._stop.wait(self.interval_s)

    def stop(self) -> None:
        """Stop watching; waits for a warming in progress to end its current page."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(STOP_WAIT_S)
            self._thread = None


WATCHER_KEY = "control_tower.warm"  # the process's watcher, on the Flask app's extensions


def watch(server: flask.Flask, interval_s: float) -> SnapshotWatcher | None:
    """Start warming the app's new snapshots in this process every `interval_s` seconds (None
    when 0: warming is off); `stop_watching` stops it."""
    if interval_s <= 0:
        return None
    watcher = server.extensions.get(WATCHER_KEY)
    if watcher is None:
        watcher = server.extensions[WATCHER_KEY] = SnapshotWatcher(server, interval_s)
    watcher.start()
    return watcher


def stop_watching(server: flask.Flask) -> None:
    """Stop this process's warming of the app's snapshots, if it runs."""
    watcher = server.extensions.pop(WATCHER_KEY, None)
    if watcher is not None:
        watcher.stop()
