"""Independent figures of the executive page's money, read straight from a snapshot.

Written apart from `control_tower.views.executive_money` (plain SQL per table, the conversion
done here in Python), so that a page test compares the page with another computation.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb

UNRESOLVED = ("open", "acknowledged", "snoozed")


def reporting_currency(con: duckdb.DuckDBPyConnection) -> str:
    """The reporting currency the snapshot's money step used."""
    return con.execute("SELECT reporting_currency FROM money.settings").fetchone()[0]


def value_at_risk(con: duckdb.DuckDBPyConnection, location: str | None = None) -> float:
    """The unresolved queue items' value at risk (all sites, or one)."""
    sql = "SELECT coalesce(sum(value_at_risk), 0) FROM exc.queue_items WHERE status IN (?, ?, ?)"
    params: list[object] = list(UNRESOLVED)
    if location is not None:
        sql += " AND location_id = ?"
        params.append(location)
    return float(con.execute(sql, params).fetchone()[0])


def value_at_risk_by_type(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """The unresolved items' value at risk by exception type."""
    rows = con.execute(
        "SELECT type, coalesce(sum(value_at_risk), 0) FROM exc.queue_items "
        "WHERE status IN (?, ?, ?) GROUP BY type",
        list(UNRESOLVED),
    ).fetchall()
    return {t: float(v) for t, v in rows}


def backlog(
    con: duckdb.DuckDBPyConnection, as_of: date, location: str | None = None
) -> tuple[float, list[str]]:
    """(the backlog in the reporting currency of the sites that could be converted, the sites
    that could not) of the open and backordered lines, at the rate of the day before as_of."""
    shipped: dict[tuple[str, int], float] = {}
    for order, line, qty in con.execute(
        "SELECT order_id, line_no, shipped_qty FROM shipments"
    ).fetchall():
        shipped[(order, line)] = shipped.get((order, line), 0.0) + float(qty)
    by_site: dict[str, tuple[str, float]] = {}
    for order, line, site, entity, qty, price, factor in con.execute(
        "SELECT order_id, line_no, location_id, entity_id, ordered_qty, unit_price, uom_factor "
        "FROM sales_order_lines WHERE status IN ('open', 'backordered')"
    ).fetchall():
        if location is not None and site != location:
            continue
        open_qty = max(float(qty) - shipped.get((order, line), 0.0), 0.0)
        amount = open_qty * float(price) / (factor or 1)
        by_site[site] = (entity, by_site.get(site, (entity, 0.0))[1] + amount)
    currency = dict(
        con.execute("SELECT entity_id, currency FROM money.entity_currencies").fetchall()
    )
    reporting = reporting_currency(con)
    day = as_of - timedelta(days=1)
    total, missing = 0.0, []
    for site, (entity, amount) in sorted(by_site.items()):
        found = currency.get(entity)
        if found == reporting:
            total += amount
            continue
        rate = con.execute(
            "SELECT rate FROM money.fx_daily WHERE from_currency = ? AND to_currency = ? "
            "AND rate_date = ?",
            [found, reporting, day],
        ).fetchone()
        if found is None or rate is None:
            missing.append(site)
        else:
            total += amount * rate[0]
    return total, missing
