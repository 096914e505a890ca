"""Governed KPI benchmark: every KPI by day and location over ~1M order lines.

    python benchmarks/kpi.py [--home bench-out/kpi/home] [--as-of YYYY-MM-DD]
                             [--repeat 3] [--no-pandas] [--no-refresh]

Uses the landed warehouse under `--home` when it holds one; otherwise
generates the medium demo data (seed 7, ~1M order lines) and lands it
through the pipeline first. Then, on a read-only connection (the published
serving snapshot when there is one, else the warehouse file):

1. every KPI of the catalog through the governed layer (`compute()`), by day
   and location (`entity_id` for a KPI without a location);
2. six KPIs in hand-written DuckDB SQL, written from the rules in
   docs/kpis.md (not from the catalog's models), checked equal to the
   governed figures per day and location (numerator, denominator and value
   within 1e-9); any difference stops the script with the differing rows;
3. the same six KPIs in pandas, checked the same way;
4. a full refresh of `kpi.values` (`refresh_kpis`) on a temporary copy of
   the warehouse (the original file is never written).

Times are the best of `--repeat` runs, each run fetching every row. The
compiled SQL of a query shape is cached, so governed runs reuse it; the
first compile of each KPI's query is timed and reported on its own.
Targets: governed within 1.5x of the hand-written SQL; a full
refresh under 10 s at 1M order lines on a 2-core machine.

pandas is an optional, benchmark-only dependency (not in pyproject.toml):
`.venv/bin/pip install pandas`, or run with `--no-pandas`.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from references.pandas_kpis import PANDAS, PANDAS_FRAMES  # noqa: E402
from support.demo import copy_warehouse, ensure_landed  # noqa: E402

from control_tower.kpi.catalog import Kpi, load_catalog  # noqa: E402
from control_tower.kpi.compiler import compile_kpi  # noqa: E402
from control_tower.kpi.governance import read_history  # noqa: E402
from control_tower.kpi.materialize import refresh_kpis  # noqa: E402
from control_tower.kpi.query import compute  # noqa: E402
from control_tower.settings import Settings  # noqa: E402
from control_tower.storage import connect_writer  # noqa: E402
from control_tower.storage.engine import connect  # noqa: E402
from control_tower.storage.serving import current_snapshot, open_snapshot  # noqa: E402

GOVERNED_TARGET = 1.5  # governed time / hand-written SQL time
REFRESH_TARGET = 10.0  # seconds for a full refresh at 1M order lines
TOLERANCE = 1e-9

# A figure per (location_id, day): numerator, denominator, value (None when undefined).
Figures = dict[tuple[str, str], tuple[float, float, float | None]]

# ---------------------------------------------------------------------------
# Hand-written DuckDB SQL, one query per KPI, from the rules in docs/kpis.md.
# Each returns location_id, period (the local day of the KPI's time
# dimension), numerator, denominator, value; $as_of is the evaluation date.
# Rules shared by all: cancelled rows are out; an event counts once its local
# date at its location is before as_of; days up to as_of are reported.
# ---------------------------------------------------------------------------

# First-time fill: the first shipment (earliest shipped_ts, then smallest
# shipment_id) shipped before as_of; a line is measurable once shipped or
# once its current promised date is past; base-unit quantities.
_FIRST_SHIPMENT = """
    first_shipment AS (
        SELECT order_id, line_no, shipped_qty AS first_qty
        FROM shipments
        WHERE shipped_ts_local_date < $as_of
        QUALIFY row_number() OVER (
            PARTITION BY order_id, line_no ORDER BY shipped_ts, shipment_id
        ) = 1
    ),
    measured AS (
        SELECT
            l.location_id,
            l.order_ts_local_date AS period,
            l.ordered_qty,
            f.first_qty,
            f.order_id IS NOT NULL OR l.promised_date < $as_of AS measurable
        FROM sales_order_lines AS l
        LEFT JOIN first_shipment AS f ON f.order_id = l.order_id AND f.line_no = l.line_no
        WHERE l.status <> 'cancelled' AND l.order_ts_local_date <= $as_of
    )"""

HAND_SQL: dict[str, str] = {
    "line_fill_rate": f"""
WITH {_FIRST_SHIPMENT},
    counted AS (
        SELECT
            location_id,
            period,
            count(*) FILTER (WHERE measurable AND first_qty >= ordered_qty) AS numerator,
            count(*) FILTER (WHERE measurable) AS denominator
        FROM measured
        GROUP BY location_id, period
    )
SELECT *, numerator / nullif(denominator, 0) AS value FROM counted
""",
    "unit_fill_rate": f"""
WITH {_FIRST_SHIPMENT},
    counted AS (
        SELECT
            location_id,
            period,
            -- each line capped at its ordered quantity; a line never shipped filled 0
            coalesce(sum(least(coalesce(first_qty, 0), ordered_qty)) FILTER (WHERE measurable), 0)
                AS numerator,
            coalesce(sum(ordered_qty) FILTER (WHERE measurable), 0) AS denominator
        FROM measured
        GROUP BY location_id, period
    )
SELECT location_id, period, numerator::DOUBLE AS numerator, denominator::DOUBLE AS denominator,
       numerator::DOUBLE / nullif(denominator::DOUBLE, 0) AS value
FROM counted
""",
    # Delivered: a WMS shipment whose non-cancelled freight shipment has an
    # actual delivery (before as_of), on the shipping location's calendar.
    # Due: first promise past, or fully delivered. On time: delivered in full
    # by the end of the FIRST promised date.
    "order_promise_accuracy": """
WITH delivered_shipment AS (
    SELECT shipment_id, min(actual_delivery_ts_local_date) AS delivered_on
    FROM freight_shipments
    WHERE status <> 'cancelled'
      AND actual_delivery_ts IS NOT NULL
      AND actual_delivery_ts_local_date < $as_of
    GROUP BY shipment_id
),
line_parts AS (
    -- every non-cancelled line due to be judged by as_of, with each of its shipments
    SELECT
        l.order_id,
        l.line_no,
        l.location_id,
        l.first_promised_date,
        l.ordered_qty,
        s.shipped_qty,
        d.delivered_on
    FROM sales_order_lines AS l
    LEFT JOIN shipments AS s ON s.order_id = l.order_id AND s.line_no = l.line_no
    LEFT JOIN delivered_shipment AS d ON d.shipment_id = s.shipment_id
    WHERE l.status <> 'cancelled' AND l.first_promised_date <= $as_of
),
judged AS (
    SELECT
        location_id,
        first_promised_date AS period,
        first_promised_date < $as_of
            OR coalesce(sum(shipped_qty) FILTER (WHERE delivered_on IS NOT NULL), 0)
                >= ordered_qty AS due,
        coalesce(sum(shipped_qty) FILTER (WHERE delivered_on <= first_promised_date), 0)
            >= ordered_qty AS in_full_by_promise
    FROM line_parts
    GROUP BY order_id, line_no, location_id, first_promised_date, ordered_qty
),
counted AS (
    SELECT
        location_id,
        period,
        count(*) FILTER (WHERE due AND in_full_by_promise) AS numerator,
        count(*) FILTER (WHERE due) AS denominator
    FROM judged
    GROUP BY location_id, period
)
SELECT *, numerator / nullif(denominator, 0) AS value FROM counted
""",
    # Accurate: |counted - system| <= tolerance(item's ABC class) x system,
    # inclusive and in exact decimals; an empty system bin only if counted 0.
    "inventory_record_accuracy": """
WITH tolerance(abc_class, share) AS (VALUES ('A', 0.01), ('B', 0.03), ('C', 0.05)),
counted AS (
    SELECT
        c.location_id,
        c.counted_at_local_date AS period,
        count(*) FILTER (
            WHERE CASE
                WHEN c.system_qty = 0 THEN c.counted_qty = 0
                ELSE abs(c.counted_qty - c.system_qty) <= t.share * c.system_qty
            END
        ) AS numerator,
        count(*) AS denominator
    FROM cycle_counts AS c
    JOIN items AS i ON i.item_id = c.item_id
    JOIN tolerance AS t ON t.abc_class = i.abc_class
    WHERE c.counted_at_local_date < $as_of
    GROUP BY c.location_id, c.counted_at_local_date
)
SELECT *, numerator / nullif(denominator, 0) AS value FROM counted
""",
    # On time: actual_delivery_ts <= promised_delivery_ts as instants; due once
    # delivered or past the promised delivery; located where it shipped from.
    "carrier_on_time_rate": """
WITH shipped_from AS (
    SELECT DISTINCT shipment_id, location_id FROM shipments
),
moves AS (
    SELECT
        o.location_id,
        f.promised_delivery_ts_local_date AS period,
        f.actual_delivery_ts,
        f.promised_delivery_ts,
        f.actual_delivery_ts IS NOT NULL AND f.actual_delivery_ts_local_date < $as_of AS delivered
    FROM freight_shipments AS f
    LEFT JOIN shipped_from AS o ON o.shipment_id = f.shipment_id
    WHERE f.status <> 'cancelled' AND f.promised_delivery_ts_local_date <= $as_of
),
counted AS (
    SELECT
        location_id,
        period,
        count(*) FILTER (WHERE delivered AND actual_delivery_ts <= promised_delivery_ts)
            AS numerator,
        count(*) FILTER (WHERE delivered OR period < $as_of) AS denominator
    FROM moves
    GROUP BY location_id, period
)
SELECT *, numerator / nullif(denominator, 0) AS value FROM counted
""",
    # Median hours from arrival to put-away between instants, put-away lines only.
    "dock_to_stock_hours": """
SELECT
    location_id,
    arrived_ts_local_date AS period,
    NULL::DOUBLE AS numerator,
    NULL::DOUBLE AS denominator,
    median((epoch_us(putaway_ts) - epoch_us(arrived_ts)) / 3.6e9)
        FILTER (WHERE putaway_ts_local_date < $as_of) AS value
FROM receipts
WHERE arrived_ts_local_date < $as_of
GROUP BY location_id, arrived_ts_local_date
""",
}


# ---------------------------------------------------------------------------
# Comparison
# ---------------------------------------------------------------------------


def _num(v: Any) -> float | None:
    if v is None:
        return None
    f = float(v)
    return None if math.isnan(f) else f


def _day(v: Any) -> str:
    return v.date().isoformat() if hasattr(v, "date") and callable(v.date) else str(v)[:10]


def figures(rows: list[tuple[Any, Any, Any, Any, Any]]) -> Figures:
    """(location, period, numerator, denominator, value) rows keyed by (location, day)."""
    out: Figures = {}
    for loc, period, num, den, value in rows:
        out[(str(loc), _day(period))] = (_num(num) or 0.0, _num(den) or 0.0, _num(value))
    return out


def check_equal(name: str, what: str, governed: Figures, other: Figures) -> int:
    """Fail loudly unless every (location, day) figure agrees within TOLERANCE."""
    absent = (0.0, 0.0, None)
    bad = []
    for key in sorted(governed.keys() | other.keys()):
        g, o = governed.get(key, absent), other.get(key, absent)
        for label, a, b in zip(("numerator", "denominator", "value"), g, o, strict=True):
            same = (a is None and b is None) or (
                a is not None and b is not None and abs(a - b) <= TOLERANCE
            )
            if not same:
                bad.append(f"  {key[0]} {key[1]} {label}: governed {a!r}, {what} {b!r}")
    if bad:
        print(f"\nMISMATCH {name}: governed vs {what}, {len(bad)} differences:", file=sys.stderr)
        print("\n".join(bad[:20]), file=sys.stderr)
        raise SystemExit(f"{name}: {what} disagrees with the governed layer")
    return len(governed)


# ---------------------------------------------------------------------------
# Data and connections
# ---------------------------------------------------------------------------


def read_source(settings: Settings) -> Path:
    """The published snapshot readers use, else the warehouse file."""
    snap = current_snapshot(settings.serving_dir)
    return snap if snap is not None and snap.exists() else settings.warehouse_path


def open_source(source: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection on `source`, as the web app reads a snapshot."""
    return (
        open_snapshot(source)
        if source.parent.name == "serving"
        else connect(source, read_only=True)
    )


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """Best wall time of `repeat` runs, and the last result."""
    best, result = math.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def governed_dimension(kpi: Kpi) -> str:
    return "location_id" if "location_id" in kpi.dimensions else kpi.dimensions[0]


def time_refresh(source: Path, settings: Settings, as_of: date, repeat: int) -> list[float]:
    """Full refreshes of kpi.values on a temporary copy of the warehouse file."""
    times = []
    with tempfile.TemporaryDirectory(prefix="kpibench-") as tmp:
        con = connect_writer(copy_warehouse(source, Path(tmp)))
        try:
            for i in range(repeat):
                t0 = time.perf_counter()
                report = refresh_kpis(con, as_of=as_of, root=settings.kpi_definitions)
                times.append(time.perf_counter() - t0)
                if i == 0:
                    print(f"refresh: {report.summary()}")
                    slow = sorted(report.model_seconds.items(), key=lambda kv: -kv[1])[:3]
                    print("  slowest models: " + ", ".join(f"{n} {s:.2f}s" for n, s in slow))
                    slow = sorted(report.kpi_seconds.items(), key=lambda kv: -kv[1])[:3]
                    print("  slowest KPIs:   " + ", ".join(f"{n} {s:.2f}s" for n, s in slow))
        finally:
            con.close()
    return times


def _fmt(v: float | None, spec: str = ".3f") -> str:
    return "-" if v is None else format(v, spec)


def main() -> None:
    """Land (if needed), time governed vs hand SQL vs pandas, check, and time a refresh."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=ROOT / "bench-out" / "kpi" / "home")
    parser.add_argument("--scale", default="medium", choices=["small", "medium", "large"])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-of", type=date.fromisoformat, help="default: day after last order")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (best is kept)")
    parser.add_argument("--no-pandas", action="store_true", help="skip the pandas comparison")
    parser.add_argument("--no-refresh", action="store_true", help="skip the refresh timing")
    args = parser.parse_args()

    settings = ensure_landed(args.home.resolve(), args.seed, args.scale)
    source = read_source(settings)
    con = open_source(source)
    con.execute("SET TimeZone = 'UTC'")
    lines, last_order = con.execute(
        "SELECT count(*), max(order_ts_local_date) FROM sales_order_lines"
    ).fetchone()
    as_of = args.as_of or last_order + timedelta(days=1)
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    print(
        f"source {source}\n{lines:,} order lines; as_of {as_of}; duckdb {duckdb.__version__}, "
        f"{threads} threads, {os.cpu_count()} CPUs; best of {args.repeat} runs"
    )
    catalog = load_catalog(settings.kpi_definitions, history=read_history(con))

    pd = None
    frames: dict[str, Any] = {}
    load_s = None
    if not args.no_pandas:
        try:
            import pandas as pd
        except ImportError:
            print("pandas is not installed (.venv/bin/pip install pandas): pandas column skipped")
        else:
            t0 = time.perf_counter()
            frames = {name: con.execute(sql).df() for name, sql in PANDAS_FRAMES.items()}
            load_s = time.perf_counter() - t0

    # The first compile of a query shape (qualify, prune, render); compute() reuses it after.
    cold: dict[str, float] = {}
    for kpi in catalog.kpis.values():
        t0 = time.perf_counter()
        compile_kpi(kpi, as_of=as_of, grain="day", by=(governed_dimension(kpi),), companions=False)
        cold[kpi.name] = time.perf_counter() - t0

    results = []
    for kpi in sorted(catalog.kpis.values(), key=lambda k: (k.name not in HAND_SQL, k.name)):
        dim = governed_dimension(kpi)
        gov_s, gov = best_of(
            args.repeat,
            lambda kpi=kpi, dim=dim: compute(con, kpi, as_of=as_of, grain="day", by=(dim,)),
        )
        hand_s = pd_s = None
        checked = ""
        if kpi.name in HAND_SQL:
            governed = figures(
                [
                    (r[dim], r["period"], r.get("numerator"), r.get("denominator"), r["value"])
                    for r in gov["rows"]
                ]
            )
            sql = HAND_SQL[kpi.name]
            hand_s, hand = best_of(
                args.repeat, lambda sql=sql: con.execute(sql, {"as_of": as_of}).fetchall()
            )
            check_equal(kpi.name, "hand SQL", governed, figures(hand))
            checked = "hand SQL"
            if pd is not None:
                fn = PANDAS[kpi.name]
                ts = pd.Timestamp(as_of)
                pd_s, out = best_of(args.repeat, lambda fn=fn, ts=ts: fn(pd, frames, ts))
                rows = out[["location_id", "period", "numerator", "denominator", "value"]]
                check_equal(kpi.name, "pandas", governed, figures(list(rows.itertuples(False))))
                checked += " + pandas"
        results.append((kpi.name, dim, len(gov["rows"]), gov_s, hand_s, pd_s, checked))

    head = f"{'KPI':<30} {'by':<12} {'rows':>6} {'governed s':>10} {'hand SQL s':>10} "
    head += f"{'pandas s':>9} {'gov/hand':>8}  equal to"
    print("\n" + head + "\n" + "-" * len(head))
    for name, dim, n, gov_s, hand_s, pd_s, checked in results:
        ratio = gov_s / hand_s if hand_s else None
        print(
            f"{name:<30} {dim:<12} {n:>6} {gov_s:>10.3f} {_fmt(hand_s):>10} {_fmt(pd_s):>9} "
            f"{_fmt(ratio, '.2f'):>8}  {checked or '-'}"
        )
    paired = [r for r in results if r[4] is not None]
    gov_sum = sum(r[3] for r in paired)
    hand_sum = sum(r[4] for r in paired)
    pd_sum = sum(r[5] for r in paired) if pd is not None else None
    worst = max(r[3] / r[4] for r in paired)
    print("-" * len(head))
    print(
        f"{'the ' + str(len(paired)) + ' hand-written KPIs':<50} {gov_sum:>10.3f} {hand_sum:>10.3f} "
        f"{_fmt(pd_sum):>9} {gov_sum / hand_sum:>8.2f}"
    )
    print(
        f"{'all ' + str(len(results)) + ' KPIs, governed':<50} {sum(r[3] for r in results):>10.3f}"
    )
    slowest = max(cold, key=lambda n: cold[n])
    print(
        f"compile, first call of each query (cached for the runs above): median "
        f"{statistics.median(cold.values()) * 1000:.0f} ms, max {cold[slowest] * 1000:.0f} ms "
        f"({slowest})"
    )
    if load_s is not None:
        print(f"pandas: reading its frames from DuckDB took {load_s:.2f}s (not in the column)")
    verdict = "met" if gov_sum / hand_sum <= GOVERNED_TARGET else "MISSED"
    print(
        f"\ntarget governed/hand <= {GOVERNED_TARGET}x: {gov_sum / hand_sum:.2f}x overall, "
        f"worst KPI {worst:.2f}x -> {verdict}"
    )
    con.close()

    if not args.no_refresh:
        print()
        times = time_refresh(settings.warehouse_path, settings, as_of, args.repeat)
        med = statistics.median(times)
        verdict = "met" if med < REFRESH_TARGET else "MISSED"
        runs = ", ".join(f"{t:.2f}s" for t in times)
        print(
            f"target full refresh < {REFRESH_TARGET:.0f}s at {lines:,} lines: "
            f"median {med:.2f}s ({runs}) -> {verdict}"
        )


if __name__ == "__main__":
    main()
