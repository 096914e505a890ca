"""The six reference KPIs of `benchmarks/kpi.py` in pandas, from the rules in docs/kpis.md
(not from the catalog's models), over frames read once (`PANDAS_FRAMES`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

PANDAS_FRAMES = {
    "lines": "SELECT order_id, line_no, location_id, status, order_ts_local_date, ordered_qty, "
    "promised_date, first_promised_date FROM sales_order_lines",
    "shipments": "SELECT shipment_id, order_id, line_no, location_id, shipped_qty, shipped_ts, "
    "shipped_ts_local_date FROM shipments",
    "freight": "SELECT shipment_id, status, actual_delivery_ts, actual_delivery_ts_local_date, "
    "promised_delivery_ts, promised_delivery_ts_local_date FROM freight_shipments",
    # pandas has no exact decimal: quantities in 1/10000 units (DECIMAL(18,4)) as integers.
    "counts": "SELECT location_id, item_id, counted_at_local_date, "
    "CAST(system_qty * 10000 AS BIGINT) AS system_e4, "
    "CAST(counted_qty * 10000 AS BIGINT) AS counted_e4 FROM cycle_counts",
    "items": "SELECT item_id, abc_class FROM items",
    "receipts": "SELECT location_id, arrived_ts, arrived_ts_local_date, putaway_ts, "
    "putaway_ts_local_date FROM receipts",
}


def _pd_ratio(pd: Any, location: Any, period: Any, num: Any, den: Any) -> Any:
    frame = pd.DataFrame(
        {"location_id": location, "period": period, "numerator": num, "denominator": den}
    )
    out = frame.groupby(["location_id", "period"], dropna=False, sort=False).sum().reset_index()
    out["value"] = out["numerator"] / out["denominator"].where(out["denominator"] != 0)
    return out


def _pd_first_fill(pd: Any, f: dict[str, Any], as_of: Any) -> Any:
    s = f["shipments"]
    s = s[s["shipped_ts_local_date"] < as_of].sort_values(["shipped_ts", "shipment_id"])
    first = s.drop_duplicates(["order_id", "line_no"], keep="first")[
        ["order_id", "line_no", "shipped_qty"]
    ]
    lines = f["lines"]
    lines = lines[(lines["status"] != "cancelled") & (lines["order_ts_local_date"] <= as_of)]
    m = lines.merge(first, on=["order_id", "line_no"], how="left")
    m["measurable"] = m["shipped_qty"].notna() | (m["promised_date"] < as_of)
    return m


def pd_line_fill_rate(pd: Any, f: dict[str, Any], as_of: Any) -> Any:
    m = _pd_first_fill(pd, f, as_of)
    filled = m["measurable"] & (m["shipped_qty"] >= m["ordered_qty"])
    return _pd_ratio(
        pd,
        m["location_id"],
        m["order_ts_local_date"],
        filled.astype("int64"),
        m["measurable"].astype("int64"),
    )


def pd_unit_fill_rate(pd: Any, f: dict[str, Any], as_of: Any) -> Any:
    m = _pd_first_fill(pd, f, as_of)
    capped = m["shipped_qty"].fillna(0).clip(upper=m["ordered_qty"])
    return _pd_ratio(
        pd,
        m["location_id"],
        m["order_ts_local_date"],
        capped.where(m["measurable"], 0.0),
        m["ordered_qty"].where(m["measurable"], 0.0),
    )


def pd_order_promise_accuracy(pd: Any, f: dict[str, Any], as_of: Any) -> Any:
    fr = f["freight"]
    fr = fr[
        (fr["status"] != "cancelled")
        & fr["actual_delivery_ts"].notna()
        & (fr["actual_delivery_ts_local_date"] < as_of)
    ]
    delivered_on = fr.groupby("shipment_id")["actual_delivery_ts_local_date"].min()
    s = f["shipments"][["shipment_id", "order_id", "line_no", "shipped_qty"]]
    s = s.merge(delivered_on.rename("delivered_on").reset_index(), on="shipment_id")
    lines = f["lines"]
    lines = lines[
        (lines["status"] != "cancelled") & (lines["first_promised_date"] <= as_of)
    ].reset_index(drop=True)
    lines["row"] = lines.index
    s = s.merge(
        lines[["order_id", "line_no", "row", "first_promised_date"]], on=["order_id", "line_no"]
    )
    delivered = s.groupby("row")["shipped_qty"].sum()
    by_promise = (
        s[s["delivered_on"] <= s["first_promised_date"]].groupby("row")["shipped_qty"].sum()
    )
    lines["delivered"] = delivered.reindex(lines.index, fill_value=0.0)
    lines["by_promise"] = by_promise.reindex(lines.index, fill_value=0.0)
    due = (lines["first_promised_date"] < as_of) | (lines["delivered"] >= lines["ordered_qty"])
    on_time = due & (lines["by_promise"] >= lines["ordered_qty"])
    return _pd_ratio(
        pd,
        lines["location_id"],
        lines["first_promised_date"],
        on_time.astype("int64"),
        due.astype("int64"),
    )


def pd_inventory_record_accuracy(pd: Any, f: dict[str, Any], as_of: Any) -> Any:
    c = f["counts"]
    c = c[c["counted_at_local_date"] < as_of].merge(f["items"], on="item_id")
    # Tolerance in basis points, so the comparison stays in exact integers.
    bp = c["abc_class"].map({"A": 100, "B": 300, "C": 500}).astype("int64")
    variance = (c["counted_e4"] - c["system_e4"]).abs()
    accurate = (variance * 10_000 <= bp * c["system_e4"]).where(
        c["system_e4"] != 0, c["counted_e4"] == 0
    )
    return _pd_ratio(
        pd,
        c["location_id"],
        c["counted_at_local_date"],
        accurate.astype("int64"),
        pd.Series(1, index=c.index),
    )


def pd_carrier_on_time_rate(pd: Any, f: dict[str, Any], as_of: Any) -> Any:
    fr = f["freight"]
    fr = fr[(fr["status"] != "cancelled") & (fr["promised_delivery_ts_local_date"] <= as_of)]
    origin = f["shipments"][["shipment_id", "location_id"]].drop_duplicates()
    m = fr.merge(origin, on="shipment_id", how="left")
    delivered = m["actual_delivery_ts"].notna() & (m["actual_delivery_ts_local_date"] < as_of)
    on_time = delivered & (m["actual_delivery_ts"] <= m["promised_delivery_ts"])
    due = delivered | (m["promised_delivery_ts_local_date"] < as_of)
    return _pd_ratio(
        pd,
        m["location_id"],
        m["promised_delivery_ts_local_date"],
        on_time.astype("int64"),
        due.astype("int64"),
    )


def pd_dock_to_stock_hours(pd: Any, f: dict[str, Any], as_of: Any) -> Any:
    r = f["receipts"]
    r = r[r["arrived_ts_local_date"] < as_of]
    hours = (r["putaway_ts"] - r["arrived_ts"]).dt.total_seconds() / 3600.0
    hours = hours.where(r["putaway_ts_local_date"] < as_of)
    frame = pd.DataFrame(
        {"location_id": r["location_id"], "period": r["arrived_ts_local_date"], "value": hours}
    )
    out = frame.groupby(["location_id", "period"], dropna=False, sort=False)["value"].median()
    out = out.reset_index()
    out["numerator"] = None
    out["denominator"] = None
    return out


PANDAS: dict[str, Callable[[Any, dict[str, Any], Any], Any]] = {
    "line_fill_rate": pd_line_fill_rate,
    "unit_fill_rate": pd_unit_fill_rate,
    "order_promise_accuracy": pd_order_promise_accuracy,
    "inventory_record_accuracy": pd_inventory_record_accuracy,
    "carrier_on_time_rate": pd_carrier_on_time_rate,
    "dock_to_stock_hours": pd_dock_to_stock_hours,
}
