"""Warming a new serving snapshot before users ask: after `warm`, the pages open from the app's
caches; the watcher warms each snapshot the pointer names once, in the background, and stops."""

from __future__ import annotations

import shutil
import threading
import time

import pytest

from control_tower.storage.publish import publish_snapshot
from control_tower.storage.serving import current_snapshot
from control_tower.web import create_app, warm
from control_tower.web.runtime import EXTENSION_KEY
from tests.support.dash_callbacks import callback_body, opening_filters, post_callback
from tests.support.data_copies import private_copy
from tests.support.query_log import logged_queries
from tests.support.web_users import USERS, cheap_accounts, signed_in

PAGES = {  # path: (role, filter prefix, outputs of its data callback)
    "/executive": (
        "executive",
        "executive",
        [(f"executive-{name}", "children") for name in ("tiles", "drafts", "subtitle")],
    ),
    "/warehouse": (
        "warehouse_supervisor",
        "warehouse",
        [("warehouse-body", "children"), ("warehouse-subtitle", "children")],
    ),
    "/finance": (
        "finance",
        "finance",
        [("finance-body", "children"), ("finance-subtitle", "children")],
    ),
}
HEALTH = callback_body(
    [
        (f"data-health-{name}", prop)
        for name, prop in (
            ("asof", "children"),
            ("empty", "children"),
            ("body", "hidden"),
            ("kpis", "children"),
            ("scheduler", "children"),
            ("runs", "children"),
            ("freshness", "children"),
            ("snapshot", "data"),
        )
    ],
    [("data-health-interval", "n_intervals", 1)],
    [("data-health-snapshot", "data", None)],
)


def _context(app):
    return app.server.extensions[EXTENSION_KEY]


def _open(app, path):
    """A page's data callback as the browser first sends it (the bar's opening values)."""
    role, prefix, outputs = PAGES[path]
    client = signed_in(app, USERS[role])
    inputs = opening_filters(client, path, prefix)
    return lambda: post_callback(client, outputs, inputs)


@pytest.fixture
def cold(app):
    """The module's app with every per-snapshot answer forgotten."""
    _context(app).answers.clear()
    return app


def test_after_warming_the_executive_summary_reads_nothing_from_the_snapshot(cold):
    request = _open(cold, "/executive")
    report = warm.warm(cold.server)
    assert report.errors == {}
    assert {"executive", "warehouse", "finance", "planner", "data-health", "catalog"} <= set(
        report.seconds
    )
    with logged_queries(_context(cold)) as log:
        assert request().status_code == 200
    assert log == []


def test_after_warming_the_data_health_summary_reads_nothing_from_the_snapshot(cold):
    client = signed_in(cold, USERS["admin"])
    warm.warm(cold.server)
    with logged_queries(_context(cold)) as log:
        answer = client.post("/_dash-update-component", json=HEALTH)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert log == []


@pytest.mark.parametrize("path", ["/warehouse", "/finance"])
def test_after_warming_a_role_page_finds_every_kept_answer(cold, path):
    request = _open(cold, path)
    context = _context(cold)
    warm.warm(cold.server)
    made = context.answers.misses
    assert request().status_code == 200
    assert context.answers.misses == made  # nothing kept was left to compute
    assert context.answers.hits > 0


def test_without_warming_the_first_request_reads_the_snapshot(cold):
    request = _open(cold, "/executive")
    _context(cold).answers.clear()
    with logged_queries(_context(cold)) as log:
        assert request().status_code == 200
    assert any("kpi.values" in q for q in log)


@pytest.fixture
def copied(demo_settings, tmp_path):
    """An app over a private copy of the demo, whose warehouse a test may publish again."""
    settings = private_copy(demo_settings, tmp_path / "home")
    shutil.copyfile(demo_settings.warehouse_path, settings.warehouse_path)
    app = create_app(settings, accounts=cheap_accounts(settings))
    yield app, settings
    warm.stop_watching(app.server)
    _context(app).close()


def _publish_again(settings):
    """A new snapshot with the same data (what a run that changed little publishes)."""
    return publish_snapshot(settings.warehouse_path, settings.serving_dir)


def test_the_watcher_warms_each_snapshot_the_pointer_names_once(copied):
    app, settings = copied
    context = _context(app)
    watcher = warm.SnapshotWatcher(app.server, interval_s=60)
    first = watcher.check()
    assert first is not None
    assert first.snapshot == current_snapshot(settings.serving_dir)
    assert watcher.check() is None  # nothing new
    made = context.answers.misses
    newer = _publish_again(settings)
    second = watcher.check()
    assert second is not None
    assert second.snapshot == newer
    assert context.answers.misses > made  # the new snapshot was read
    made_again: list[int] = []  # the older snapshot's answers are forgotten
    context.answers.get_for(first.snapshot, "kpi.latest_as_of", lambda: made_again.append(1))
    assert made_again == [1]


def test_a_failing_warmer_is_reported_and_the_others_still_warm(copied, monkeypatch):
    app, _settings = copied

    def broken(_cur, _context, _scopes):
        raise RuntimeError("no such table")

    monkeypatch.setitem(warm._WARMERS, "broken", warm._Warmer("broken", (), broken))
    report = warm.warm(app.server)
    assert report.errors == {"broken": "RuntimeError: no such table"}
    assert "executive" in report.seconds
    assert "executive" not in report.errors


def test_the_watcher_thread_warms_in_the_background_and_stops(copied):
    app, settings = copied
    watcher = warm.watch(app.server, 0.05)
    assert watcher is not None
    deadline = time.monotonic() + 60
    while watcher.warmed != current_snapshot(settings.serving_dir):
        assert time.monotonic() < deadline, "the watcher did not warm the snapshot"
        time.sleep(0.05)
    newer = _publish_again(settings)
    while watcher.warmed != newer:
        assert time.monotonic() < deadline, "the watcher did not warm the new snapshot"
        time.sleep(0.05)
    warm.stop_watching(app.server)
    assert not any(t.name == "control-tower-warm" for t in threading.enumerate())


def test_warming_is_off_at_zero_seconds(copied):
    app, _settings = copied
    assert warm.watch(app.server, 0) is None
    assert not any(t.name == "control-tower-warm" for t in threading.enumerate())
