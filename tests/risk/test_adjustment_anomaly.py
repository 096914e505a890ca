"""The adjustment_anomaly rule on hand-built adjustments.

Twenty damage adjustments of -1 .. -3 (median -2, MAD 1) plus:

    A-BIG    damage -40         z = 38 / 1.4826 = 25.6  -> unusual size
    A-ODD    write_off -1       a reason seen once      -> rare reason code
    A-OLD    damage -40, 30 days ago                    -> outside the look-back: not flagged
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta

import duckdb

from control_tower.exceptions.registry import EXCEPTION_TYPES
from control_tower.storage.schema import ensure_schema

NOW = datetime(2026, 3, 12, 10, 0)


def test_unusual_size_and_rare_reason_are_flagged() -> None:
    con = duckdb.connect()
    ensure_schema(con)
    rows = [(f"A{i}", -(1 + i % 3), "damage", NOW - timedelta(days=i + 1), "U1") for i in range(20)]
    rows += [
        ("A-BIG", -40, "damage", NOW - timedelta(days=1), "U2"),
        ("A-ODD", -1, "write_off", NOW - timedelta(days=2), "U3"),
        ("A-OLD", -40, "damage", NOW - timedelta(days=30), "U2"),
    ]
    for adj_id, qty, reason, at, user in rows:
        con.execute(
            "INSERT INTO inventory_adjustments (adjustment_id, location_id, item_id, adjusted_at, "
            "adjusted_at_local_date, qty_delta, reason_code, user_id) "
            "VALUES (?, 'L1', 'I1', ?, ?, ?, ?, ?)",
            [adj_id, at, at.date(), qty, reason, user],
        )
    # a rare reason counts once the history holds min_history adjustments: 23 here
    t = EXCEPTION_TYPES["adjustment_anomaly"]
    t = dataclasses.replace(t, params={**t.params, "min_history": 20})
    found = {
        r[0]: json.loads(r[4])
        for r in con.execute(t.rule, t.bindings(as_of=NOW.date(), now=NOW)).fetchall()
    }
    assert set(found) == {"A-BIG", "A-ODD"}
    assert found["A-BIG"]["why"] == "unusual size for the reason"
    assert found["A-BIG"]["robust_z"] == 25.6
    assert found["A-ODD"]["why"] == "rare reason code"
