"""A delta rescores only what it touched, and gives the scores a full rescoring gives.

The deltas are written straight into a copy of the landed small demo the way the upsert
writes them: the new version of a row replaces the old one and carries its batch id.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import joblib
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from control_tower.landing.ingest import IngestReport
from control_tower.risk.model import RuleCalibration
from control_tower.risk.score import refresh_risk
from control_tower.risk.store import active_card, load_model, model_file, save_model
from control_tower.settings import load_settings
from control_tower.storage.changes import Changes
from pipelines.steps import POST_LOAD_STEPS, StepContext
from tests.support.demo_data import DEMO_AS_OF as AS_OF

T = date(2026, 3, 17)  # every location's latest snapshot: the stockout scores' day
NOW = datetime(2026, 3, 18, 12, 0)
KEYS = {"stockout_scores": ["location_id", "item_id"], "late_order_scores": ["order_id", "line_no"]}
UNREAD = [("cycle_counts", 9101), ("tracking_events", 9102)]  # no risk feature reads them


@pytest.fixture
def con(home: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The copy's warehouse, its scores refreshed in full at NOW."""
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    refresh_risk(con, home / "models", as_of=AS_OF, train_if_missing=False, now=NOW)
    yield con
    con.close()


def _refresh(con: duckdb.DuckDBPyConnection, home: Path, changes: Changes | None = None, **kw):
    kw.setdefault("train_if_missing", False)
    kw.setdefault("now", NOW)
    return refresh_risk(con, home / "models", as_of=AS_OF, changes=changes, **kw)


def _scores(con: duckdb.DuckDBPyConnection) -> dict[str, pl.DataFrame]:
    return {t: con.sql(f"SELECT * FROM risk.{t}").pl().sort(k) for t, k in KEYS.items()}


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple:
    return con.execute(sql).fetchall()[0]


def _touch_unread(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    """Rows of tables no risk feature reads, rewritten by a delta."""
    con.execute(
        "UPDATE cycle_counts SET counted_qty = counted_qty + 1, _batch_id = 9101 "
        "WHERE count_id IN (SELECT count_id FROM cycle_counts ORDER BY count_id LIMIT 5)"
    )
    con.execute(
        "UPDATE tracking_events SET reason = 'weather', _batch_id = 9102 WHERE random() < 0.01"
    )
    return UNREAD


def _write_delta(con: duckdb.DuckDBPyConnection) -> tuple[list[tuple[str, int]], tuple[str, str]]:
    """Order lines moved between items and days, changed, cancelled, new and shipped (all at
    DC-RTM), snapshots of some DC-CHI item-locations, a purchase order line moved to another item, and
    rows of tables the features do not read. Returns the batches and the item-location the
    moved line left."""
    window = f"location_id = 'DC-RTM' AND order_ts_local_date > DATE '{T}' - 28 "
    window += f"AND order_ts_local_date <= DATE '{T}'"
    lines = f"SELECT order_id, line_no, item_id FROM sales_order_lines WHERE {window}"
    order, line, item = _one(con, f"{lines} ORDER BY ordered_qty DESC, order_id LIMIT 1")
    other = _one(
        con,
        f"SELECT min(item_id) FROM inventory_snapshots WHERE location_id = 'DC-RTM' "
        f"AND snapshot_date = DATE '{T}' AND item_id <> '{item}'",
    )[0]
    # the largest line of the last 28 days moves to another item: both items' demand moves
    con.execute(
        "UPDATE sales_order_lines SET item_id = ?, _batch_id = 9001 "
        "WHERE order_id = ? AND line_no = ?",
        [other, order, line],
    )
    # the other changes leave both items alone: only the moved line changes their demand
    lines += f" AND item_id NOT IN ('{item}', '{other}')"
    # the largest other line moves 100 days back, out of every window
    moved = _one(con, f"{lines} ORDER BY ordered_qty DESC, order_id LIMIT 1")
    con.execute(
        "UPDATE sales_order_lines SET order_ts = order_ts - INTERVAL 100 DAY, "
        "order_ts_local_date = order_ts_local_date - 100, _batch_id = 9001 "
        "WHERE order_id = ? AND line_no = ?",
        list(moved[:2]),
    )
    con.execute(
        "UPDATE sales_order_lines SET ordered_qty = ordered_qty + 5, _batch_id = 9001 "
        f"WHERE (order_id, line_no) IN (SELECT (order_id, line_no) FROM ({lines}) "
        "ORDER BY order_id DESC LIMIT 3)"
    )
    open_line = (
        f"SELECT * FROM sales_order_lines WHERE location_id = 'DC-RTM' AND status <> 'cancelled' "
        f"AND order_ts_local_date <= DATE '{AS_OF}' AND first_promised_date > DATE '{AS_OF}' "
        f"AND item_id NOT IN ('{item}', '{other}') ORDER BY order_id, line_no"
    )
    cancel = _one(con, f"SELECT order_id, line_no FROM ({open_line}) LIMIT 1")
    con.execute(
        "UPDATE sales_order_lines SET status = 'cancelled', _batch_id = 9001 "
        "WHERE order_id = ? AND line_no = ?",
        list(cancel),
    )
    con.execute(
        "INSERT INTO sales_order_lines SELECT * REPLACE ('SO-NEW-1' AS order_id, "
        "CAST(? AS DATE) AS order_ts_local_date, CAST(? AS DATE) AS first_promised_date, "
        "CAST(? AS DATE) AS promised_date, 9001 AS _batch_id) "
        f"FROM ({open_line}) LIMIT 1 OFFSET 1",
        [AS_OF, AS_OF + timedelta(days=2), AS_OF + timedelta(days=2)],
    )
    # an open line ships one unit: its location ships one more line a day (its backlog)
    con.execute(
        "INSERT INTO shipments SELECT 'SH-NEW-1', o.order_id, o.line_no, o.item_id, "
        "o.location_id, NULL, 1, 'EA', CAST(? AS TIMESTAMP), CAST(? AS DATE), 1, 9004, now() "
        f"FROM ({open_line}) AS o LIMIT 1 OFFSET 2",
        [AS_OF - timedelta(days=1), AS_OF - timedelta(days=1)],
    )
    con.execute(
        "UPDATE inventory_snapshots SET on_hand_qty = 0, _batch_id = 9002 "
        f"WHERE location_id = 'DC-CHI' AND snapshot_date IN (DATE '{T}', DATE '{T}' - 10) "
        "AND item_id IN (SELECT DISTINCT item_id FROM inventory_snapshots "
        "WHERE location_id = 'DC-CHI' ORDER BY item_id LIMIT 3)"
    )
    po = _one(
        con,
        "SELECT po_id, line_no, item_id FROM purchase_order_lines "
        "WHERE location_id = 'DC-CHI' AND status = 'open' ORDER BY po_id, line_no LIMIT 1",
    )
    con.execute(
        "UPDATE purchase_order_lines SET item_id = (SELECT min(item_id) FROM items "
        "WHERE item_id <> ?), _batch_id = 9003 WHERE po_id = ? AND line_no = ?",
        [po[2], po[0], po[1]],
    )
    batches = [("sales_order_lines", 9001), ("inventory_snapshots", 9002)]
    batches += [("purchase_order_lines", 9003), ("shipments", 9004), *_touch_unread(con)]
    return batches, ("DC-RTM", item)


def _assert_same(left: dict[str, pl.DataFrame], right: dict[str, pl.DataFrame]) -> None:
    for table, key in KEYS.items():
        assert_frame_equal(left[table].sort(key), right[table].sort(key), rel_tol=1e-12)


def test_a_delta_rescores_what_it_touched_as_a_full_rescoring_would(
    home: Path, con: duckdb.DuckDBPyConnection
) -> None:
    before = _scores(con)
    batches, left = _write_delta(con)
    report = _refresh(con, home, Changes.of_batches(batches))
    delta = _scores(con)
    # only some keys were rescored, among them the item-location the moved line left
    assert 0 < report.rescored["stockout"] < len(before["stockout_scores"])
    assert 0 < report.rescored["late_order"] < len(before["late_order_scores"])
    demand = {
        name: frame.filter(pl.col("location_id") == left[0], pl.col("item_id") == left[1])[
            "daily_demand"
        ].item()
        for name, frame in (
            ("before", before["stockout_scores"]),
            ("delta", delta["stockout_scores"]),
        )
    }
    assert demand["delta"] < demand["before"]
    assert delta["late_order_scores"].filter(pl.col("order_id") == "SO-NEW-1").height == 1
    cancelled = _one(
        con,
        "SELECT count(*) FROM risk.late_order_scores JOIN sales_order_lines "
        "USING (order_id, line_no) WHERE status = 'cancelled'",
    )
    assert cancelled == (0,)
    # every column, drivers included, equals a full rescoring with the same model
    full = _refresh(con, home, Changes.full_refresh("test"))
    assert full.rescored == {}
    _assert_same(delta, _scores(con))


def test_moved_rows_are_found_again_by_a_second_delta(
    home: Path, con: duckdb.DuckDBPyConnection
) -> None:
    batches, _ = _write_delta(con)
    _refresh(con, home, Changes.of_batches(batches))
    # the line moves back to the item it left, and more snapshots change
    con.execute(
        "UPDATE sales_order_lines SET order_ts = order_ts + INTERVAL 100 DAY, "
        "order_ts_local_date = order_ts_local_date + 100, _batch_id = 9011 "
        f"WHERE _batch_id = 9001 AND order_ts_local_date <= DATE '{T}' - 90"
    )
    con.execute(
        "UPDATE inventory_snapshots SET allocated_qty = allocated_qty + 1, _batch_id = 9012 "
        f"WHERE snapshot_date = DATE '{T}' AND location_id = 'DC-NJ' AND item_id < 'SKU1001'"
    )
    _refresh(
        con,
        home,
        Changes.of_batches([("sales_order_lines", 9011), ("inventory_snapshots", 9012)]),
    )
    delta = _scores(con)
    assert all(frame.height > 0 for frame in delta.values())
    _refresh(con, home)
    _assert_same(delta, _scores(con))


def test_a_delta_touching_nothing_the_models_read_rescores_nothing(
    home: Path, con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _scores(con)
    changes = Changes.of_batches(_touch_unread(con))
    monkeypatch.setenv("CONTROL_TOWER_NOW", "2026-03-18T15:00:00Z")  # a later run, same day
    settings = load_settings(home)
    step = next(s for s in POST_LOAD_STEPS if s.name == "risk")
    with duckdb.connect(str(settings.warehouse_path)) as run:  # the next run's connection
        ctx = StepContext(settings, run, "run-delta", IngestReport(), as_of=AS_OF, changes=changes)
        summary = step.run(ctx)
    assert "0 rescored" in summary
    assert "trained" not in summary
    after = _scores(con)
    for table in KEYS:  # not a row rewritten: the scores keep when they were made
        assert_frame_equal(after[table], before[table], check_exact=True)


def _fake_training(calls: list[str]):
    """Stands in for training: stores the active model again under a version of `now`."""

    def train(con, models_dir: Path, model: str, *, now: datetime, **_kw) -> dict:
        fitted, card = load_model(models_dir, model)
        card = {**card, "version": f"{model}-{now:%Y%m%dT%H%M%S}", "trained_at": now.isoformat()}
        save_model(models_dir, fitted, card)
        calls.append(model)
        return card

    return train


def test_a_delta_never_trains_and_a_model_due_retrains_on_schedule_and_rescores_all(
    home: Path, con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    monkeypatch.setattr("control_tower.risk.training.train_model", _fake_training(calls))
    trained_at = datetime.fromisoformat(active_card(home / "models", "stockout")["trained_at"])
    batches, _ = _write_delta(con)
    for day in (1, 6):  # deltas within the week train nothing
        report = _refresh(
            con,
            home,
            Changes.of_batches(batches),
            train_if_missing=True,
            retrain_days=7,
            now=trained_at + timedelta(days=day),
        )
        assert (report.trained, calls) == ([], [])
    due = trained_at + timedelta(days=7, hours=1)
    report = _refresh(
        con, home, Changes.of_batches(UNREAD), train_if_missing=True, retrain_days=7, now=due
    )
    assert report.trained == calls == ["stockout", "late_order"]
    assert report.rescored == {}  # a model trained in this run scores everything
    after = _scores(con)
    for table in KEYS:
        assert after[table]["scored_at"].unique().to_list() == [due]
        assert after[table]["model_version"].str.ends_with(f"{due:%Y%m%dT%H%M%S}").all()


def test_a_failed_training_fails_the_step_and_leaves_the_scores(
    home: Path, con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_a, **_kw) -> dict:
        raise OSError("No space left on device")

    monkeypatch.setattr("control_tower.risk.training.train_model", broken)
    before = _scores(con)
    with pytest.raises(OSError, match="No space left"):  # the pipeline backs the step off
        _refresh(
            con,
            home,
            Changes.of_batches(_touch_unread(con)),
            train_if_missing=True,
            retrain_days=7,
            now=NOW + timedelta(days=30),
        )
    after = _scores(con)
    for table in KEYS:
        assert_frame_equal(after[table], before[table], check_exact=True)


def test_a_model_file_replaced_since_the_scores_rescores_everything(
    home: Path, con: duckdb.DuckDBPyConnection
) -> None:
    before = _scores(con)
    fitted, card = load_model(home / "models", "stockout")
    # the same version, another model: its calibration and the rule's moved
    fitted.calibrated.calibrated_classifiers_[0].calibrators[0].a_ *= 0.5
    fitted.rule = RuleCalibration.fit(np.array([-1e9, 0.0, 1e9]), np.array([0, 1, 1]))
    joblib.dump(fitted, model_file(home / "models", card["version"]))
    report = _refresh(con, home, Changes.of_batches(UNREAD), now=NOW + timedelta(hours=1))
    assert "stockout" not in report.rescored
    assert report.rescored["late_order"] == 0
    after = _scores(con)["stockout_scores"]
    assert after["scored_at"].unique().to_list() == [NOW + timedelta(hours=1)]
    assert not after["probability"].equals(before["stockout_scores"]["probability"])
