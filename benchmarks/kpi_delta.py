"""KPI step of a delta: models rebuilt by key against models rebuilt whole, checked equal.

    python benchmarks/kpi_delta.py [--home bench-out/kpi/home] [--scale medium] [--seed 7]
                                   [--delta 0.01] [--repeat 2]

Uses (or generates and lands, as benchmarks/kpi.py does) the demo data under
`--home`, then on a temporary copy of its warehouse, per run and per way:

1. a full refresh of `kpi.values` (it keeps the models' rows);
2. the scale benchmark's delta drop (`--delta` of the order lines, each a
   newer version; benchmarks/support/delta.py) landed as one batch;
3. the KPI refresh of that delta, timed (wall and CPU): "by key" as shipped,
   "whole" with every model rebuilt whole (a scope share of 0), which is what
   a model without `incremental` does;
4. a full refresh: the delta's values must equal it (else the script stops).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
from kpi import ROOT
from support.delta import write_order_line_delta
from support.demo import copy_warehouse, ensure_landed

from control_tower.kpi import keyed
from control_tower.kpi.materialize import RefreshReport, refresh_kpis
from control_tower.landing import land_inbox
from control_tower.settings import Settings
from control_tower.storage.schema import connect_writer
from pipelines.refresh import loaded_batches

VALUES = "SELECT * EXCLUDE (computed_at) FROM kpi.values ORDER BY ALL"
WAYS = {"by key": keyed.SCOPE_SHARE, "whole": 0.0}


def one_run(
    settings: Settings, as_of: date, fraction: float, way: str
) -> tuple[float, float, RefreshReport]:
    """(wall s, CPU s, report) of the KPI refresh of one delta on a fresh copy."""
    source = settings.warehouse_path
    with tempfile.TemporaryDirectory(prefix="kpidelta-") as tmp:
        con = connect_writer(copy_warehouse(source, Path(tmp)))
        try:
            refresh_kpis(con, as_of=as_of, root=settings.kpi_definitions)
            inbox = Path(tmp) / "inbox"
            changed_at = datetime.combine(as_of, datetime.min.time(), UTC) - timedelta(hours=1)
            write_order_line_delta(
                con, inbox, fraction=fraction, changed_at=changed_at, as_of=as_of
            )
            ingest = land_inbox(
                con, inbox, run_id="delta", archive=Path(tmp) / "a", rejected=Path(tmp) / "r"
            )
            keyed.SCOPE_SHARE = WAYS[way]
            c0, t0 = time.process_time(), time.perf_counter()
            report = refresh_kpis(
                con, as_of=as_of, root=settings.kpi_definitions, changes=loaded_batches(ingest)
            )
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            keyed.SCOPE_SHARE = WAYS["by key"]
            delta = con.execute(VALUES).fetchall()
            refresh_kpis(con, as_of=as_of, root=settings.kpi_definitions)
            if delta != con.execute(VALUES).fetchall():
                raise SystemExit(f"{way}: the delta's values differ from a full refresh")
        finally:
            con.close()
    return wall, cpu, report


def main() -> None:
    """Time the KPI refresh of a delta by key and whole, each checked against a full refresh."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=ROOT / "bench-out" / "kpi" / "home")
    parser.add_argument("--scale", default="medium", choices=["small", "medium", "large"])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--delta", type=float, default=0.01, help="share of order lines")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each way")
    args = parser.parse_args()
    settings = ensure_landed(args.home.resolve(), args.seed, args.scale)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        lines, last = con.execute(
            "SELECT count(*), max(order_ts_local_date) FROM sales_order_lines"
        ).fetchone()
    finally:
        con.close()
    as_of = last + timedelta(days=1)
    print(f"{lines:,} order lines; as_of {as_of}; a delta of {args.delta:.1%} of them")
    for _ in range(args.repeat):
        for way in WAYS:
            wall, cpu, report = one_run(settings, as_of, args.delta, way)
            print(f"{way:<7} {wall:6.2f}s wall {cpu:6.2f}s CPU  {report.summary()}")
            took = report.diff_seconds.get("order_lines", 0.0)  # its build, hash and diff
            how = report.refreshed.get("order_lines")
            print(f"        order_lines {how} in {took:.2f}s; equal to a full refresh")


if __name__ == "__main__":
    main()
