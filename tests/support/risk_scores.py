"""Test data for the planner: risk-model tables written into a copy of a landed snapshot.

`write_scores` scores every item-location of the latest snapshot the way the
risk package's output looks (`risk.stockout_scores`, `risk.models`): the
probability is a logistic function of days of cover against lead time, so
the ranking is deterministic and can be re-derived by an independent query.
`scored_copy` copies a data folder (serving snapshot and app database) and
writes those tables, `unscored_copy` empties them (no model has scored yet);
tests can mutate their copies freely.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from control_tower.settings import Settings
from control_tower.storage.serving import attach_shared_tables, current_snapshot
from tests.support.data_copies import private_copy

MODEL_VERSION = "v3"
METRICS = {
    "model": {
        "roc_auc": 0.861,
        "average_precision": 0.52,
        "brier": 0.08,
        "precision_at_k": 0.62,
        "k": 50,
    },
    "baseline": {
        "roc_auc": 0.823,
        "average_precision": 0.40,
        "brier": 0.12,
        "precision_at_k": 0.48,
        "k": 50,
    },
}

SCORES_SQL = """
CREATE SCHEMA IF NOT EXISTS risk;
CREATE OR REPLACE TABLE risk.stockout_scores AS
WITH latest AS (
    SELECT location_id, max(snapshot_date) AS snapshot_date
    FROM inventory_snapshots GROUP BY location_id
),
stock AS (
    SELECT s.location_id, s.item_id, s.snapshot_date,
           CAST(s.on_hand_qty AS DOUBLE) AS on_hand_qty,
           CAST(s.on_hand_qty - s.allocated_qty - s.quarantined_qty AS DOUBLE) AS available_qty
    FROM inventory_snapshots AS s JOIN latest USING (location_id, snapshot_date)
),
demand AS (
    SELECT o.location_id, o.item_id, CAST(sum(o.ordered_qty) AS DOUBLE) / 28 AS daily_demand
    FROM sales_order_lines AS o JOIN latest AS t USING (location_id)
    WHERE o.status <> 'cancelled' AND o.order_ts_local_date >= t.snapshot_date - 28
      AND o.order_ts_local_date < t.snapshot_date
    GROUP BY ALL
),
got AS (
    SELECT po_id, po_line_no, sum(CAST(received_qty AS DOUBLE)) AS qty FROM receipts GROUP BY ALL
),
inbound AS (
    SELECT l.location_id, l.item_id,
           sum(CAST(l.ordered_qty AS DOUBLE) - coalesce(g.qty, 0)) AS inbound_qty,
           min(l.expected_date) AS next_receipt_date
    FROM purchase_order_lines AS l
    LEFT JOIN got AS g ON g.po_id = l.po_id AND g.po_line_no = l.line_no
    WHERE l.status NOT IN ('cancelled', 'closed')
      AND CAST(l.ordered_qty AS DOUBLE) - coalesce(g.qty, 0) > 0
    GROUP BY ALL
),
base AS (
    SELECT s.item_id, s.location_id, loc.entity_id, s.snapshot_date AS as_of,
           s.available_qty, s.on_hand_qty, coalesce(d.daily_demand, 0) AS daily_demand,
           CASE WHEN coalesce(d.daily_demand, 0) > 0 THEN s.available_qty / d.daily_demand END
               AS days_of_cover,
           CAST(i.lead_time_days AS INTEGER) AS lead_time_days,
           coalesce(inb.inbound_qty, 0) AS inbound_qty, inb.next_receipt_date,
           CAST(i.unit_cost AS DOUBLE) AS unit_cost
    FROM stock AS s
    LEFT JOIN demand AS d USING (location_id, item_id)
    LEFT JOIN inbound AS inb USING (location_id, item_id)
    LEFT JOIN items AS i ON i.item_id = s.item_id
    LEFT JOIN locations AS loc ON loc.location_id = s.location_id
),
scored AS (
    SELECT *,
           CASE WHEN days_of_cover IS NULL THEN 0.02
                ELSE 1 / (1 + exp(-(lead_time_days - days_of_cover - inbound_qty
                                     / greatest(daily_demand, 0.001) * 0.2) / 6)) END
               AS probability,
           greatest(daily_demand * lead_time_days - greatest(available_qty, 0), 0) * unit_cost
               AS value_at_risk
    FROM base
)
SELECT item_id, location_id, entity_id, as_of, 14 AS horizon_days, probability,
       available_qty <= 0 OR days_of_cover < lead_time_days AS baseline_flag,
       available_qty, on_hand_qty, daily_demand, days_of_cover, lead_time_days,
       inbound_qty, next_receipt_date, unit_cost, value_at_risk,
       probability * value_at_risk AS risk_value,
       to_json([
           {feature: 'days_of_cover', label: 'Days of cover', value: round(days_of_cover, 1),
            effect: round((lead_time_days - coalesce(days_of_cover, 99)) / 6, 3),
            direction: CASE WHEN lead_time_days > coalesce(days_of_cover, 99)
                            THEN 'raises' ELSE 'lowers' END},
           {feature: 'inbound_cover_days', label: 'Open purchase orders, in days of demand',
            value: round(inbound_qty / greatest(daily_demand, 0.001), 1),
            effect: -round(inbound_qty / greatest(daily_demand, 0.001) * 0.2 / 6, 3),
            direction: 'lowers'},
           {feature: 'lead_time_days', label: 'Lead time (days)', value: lead_time_days,
            effect: 0.1, direction: 'raises'}
       ])::VARCHAR AS drivers,
       '{version}' AS model_version, TIMESTAMP '2026-11-21 06:00:00' AS scored_at
FROM scored;
CREATE OR REPLACE TABLE risk.models (
    model VARCHAR, version VARCHAR, trained_at TIMESTAMP, train_start DATE, train_end DATE,
    test_start DATE, test_end DATE, metrics VARCHAR, features VARCHAR, card VARCHAR,
    active BOOLEAN
);
"""


def write_scores(con: duckdb.DuckDBPyConnection) -> None:
    """Create `risk.stockout_scores` (every item-location) and `risk.models` (one active model)."""
    con.execute(SCORES_SQL.replace("{version}", MODEL_VERSION))
    con.execute(
        "INSERT INTO risk.models VALUES ('stockout', 'v2', TIMESTAMP '2026-10-01 06:00:00', "
        "DATE '2026-05-01', DATE '2026-08-31', DATE '2026-09-01', DATE '2026-09-30', ?, '[]', "
        "'{}', FALSE), ('stockout', ?, TIMESTAMP '2026-11-20 06:00:00', DATE '2026-06-01', "
        "DATE '2026-10-31', DATE '2026-11-01', DATE '2026-11-20', ?, '[]', '{}', TRUE)",
        [json.dumps({"model": {"roc_auc": 0.5}}), MODEL_VERSION, json.dumps(METRICS)],
    )


def _writable(snapshot: Path) -> duckdb.DuckDBPyConnection:
    """A copied snapshot opened for writing its derived tables, its shared landed tables
    attached (read-only) as readers see them."""
    con = duckdb.connect(str(snapshot))
    attach_shared_tables(con, snapshot)
    return con


def copy_home(source: Settings, target: Path) -> Settings:
    """A private copy of a data folder's snapshots and app database."""
    assert current_snapshot(source.serving_dir) is not None, (
        "nothing published in the source folder"
    )
    return private_copy(source, target)


def unscored_copy(source: Settings, target: Path) -> Settings:
    """`copy_home` with no model scores (the risk tables emptied), as before any training."""
    settings = copy_home(source, target)
    snapshot = current_snapshot(settings.serving_dir)
    with _writable(snapshot) as con:
        tables = con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'risk'"
        ).fetchall()
        for (name,) in tables:
            con.execute(f'DELETE FROM risk."{name}"')
    return settings


def scored_copy(source: Settings, target: Path) -> Settings:
    """`copy_home` with the risk tables written into the copied snapshot."""
    settings = copy_home(source, target)
    snapshot = current_snapshot(settings.serving_dir)
    with _writable(snapshot) as con:
        write_scores(con)
    return settings
