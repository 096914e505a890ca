"""The decision review judges "stocked out anyway" by the stockout risk model's own label:
on the small demo, its answer for item-locations and days equals the label the model's
training examples carry (known, and not yet knowable near the end of the data)."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from control_tower.decisions.outcomes import model_horizon, stocked_out
from control_tower.risk.features import stockout_frame
from control_tower.risk.model import DEFAULT_HORIZON


def test_stocked_out_anyway_is_the_risk_model_label(snapshot) -> None:
    last = snapshot.execute("SELECT max(snapshot_date) FROM inventory_snapshots").fetchall()[0][0]
    pairs = snapshot.sql(
        "SELECT location_id, item_id FROM inventory_snapshots WHERE snapshot_date = $last "
        "ORDER BY on_hand_qty - allocated_qty - quarantined_qty, location_id, item_id LIMIT 40",
        params={"last": last},
    ).pl()
    points = pl.DataFrame(
        [(loc, last - timedelta(days=d)) for loc in pairs["location_id"].unique().to_list()
         for d in (3, 10, 20)],
        schema={"location_id": pl.String, "t": pl.Date}, orient="row",
    )  # fmt: skip
    model = stockout_frame(snapshot, points, horizon=DEFAULT_HORIZON, item_locations=pairs).select(
        "t", "location_id", "item_id", "label"
    )
    ours = stocked_out(snapshot, model.select("t", "location_id", "item_id"), DEFAULT_HORIZON)
    both = model.join(ours, on=["t", "location_id", "item_id"], how="left")
    assert both.height > 40
    assert both["label"].null_count() > 0  # 3 days before the end: not yet knowable
    assert both["label"].sum() > 0  # some stocked out
    assert both.filter(pl.col("label") != pl.col("stocked_out")).height == 0
    assert both["label"].is_null().to_list() == both["stocked_out"].is_null().to_list()


def test_the_horizon_is_the_active_stockout_model_s(snapshot) -> None:
    card = snapshot.execute(
        "SELECT CAST(card->>'horizon_days' AS INTEGER) FROM risk.models "
        "WHERE model = 'stockout' AND active"
    ).fetchall()
    assert card, "the demo has an active stockout model"
    assert model_horizon(snapshot) == card[0][0]
