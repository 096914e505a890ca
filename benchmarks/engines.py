"""DuckDB vs Spark: the full KPI refresh on each engine, from the same published lake.

    python benchmarks/engines.py [--scale medium] [--seed 7] [--home DIR] [--master local[2]]
                                 [--no-spark]

Uses the landed warehouse under `--home` when it holds one; otherwise
generates the demo data of `--scale` and lands it through the pipeline first
(cached: a second run reuses both). Then, on a temporary copy of the
warehouse (the original is never written):

1. publishes the lake (`publish_lake`, every table written: a first publish);
2. times the full refresh of kpi.values on DuckDB as the pipeline runs it
   (the warehouse's own tables), and on DuckDB reading the lake;
3. starts Spark (`--master`, local[2] by default; startup timed on its own),
   registers the lake and times the full refresh on Spark;
4. checks the Spark values equal the DuckDB ones (keys exact, figures to 1e-9).

Peak RSS is of this process and its children (the Spark JVM included),
sampled every 0.25 s. Expect Spark slower than DuckDB at these sizes on one
machine: each of its queries is a job with its own planning and scheduling.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from support.demo import copy_warehouse, ensure_landed  # noqa: E402
from support.monitor import tree_rss  # noqa: E402

from control_tower.engines.duck import DuckDBEngine  # noqa: E402
from control_tower.engines.spark import SparkConfig, SparkEngine  # noqa: E402
from control_tower.kpi.materialize import RefreshReport, refresh_kpis  # noqa: E402
from control_tower.lake.engine import register_spark  # noqa: E402
from control_tower.lake.publish import publish_lake  # noqa: E402
from control_tower.lake.read import register_duckdb  # noqa: E402
from control_tower.storage import connect_writer  # noqa: E402

TOLERANCE = 1e-9


class PeakRss:
    """The highest resident memory of this process tree, sampled in the background."""

    def __init__(self, interval: float = 0.25) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)
        self._thread.start()

    def _run(self, interval: float) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss(os.getpid()))
            self._stop.wait(interval)

    @contextmanager
    def phase(self) -> Iterator[Callable[[], int]]:
        """Measure the peak of one phase: yields a function giving it (bytes)."""
        self.peak = tree_rss(os.getpid())
        yield lambda: self.peak

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _timed(label: str, rss: PeakRss, fn: Callable[[], Any]) -> tuple[float, Any]:
    with rss.phase() as peak:
        t0 = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - t0
    print(f"{label:<34} {seconds:8.1f} s   peak RSS {peak() / 2**20:7.0f} MiB", flush=True)
    return seconds, result


def _print_report(report: RefreshReport) -> None:
    print(f"  {report.summary()}")
    slow = sorted(report.kpi_seconds.items(), key=lambda kv: -kv[1])[:3]
    print("  slowest KPIs: " + ", ".join(f"{n} {s:.1f}s" for n, s in slow))


def _snapshot(con: duckdb.DuckDBPyConnection, name: str) -> None:
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM kpi.values")


def _compare(con: duckdb.DuckDBPyConnection, expected: str) -> str:
    """How the current kpi.values differ from the snapshot `expected` (empty: equal)."""
    keys = ("kpi", "grain", "period", "dimension", "dimension_value")
    on = " AND ".join(f"e.{k} IS NOT DISTINCT FROM a.{k}" for k in keys)  # NULL keys match
    row = con.execute(
        f"""
        SELECT count(*) FILTER (WHERE e.kpi IS NULL OR a.kpi IS NULL),
               count(*) FILTER (WHERE e.kpi IS NOT NULL AND a.kpi IS NOT NULL AND (
                   (e.value IS NULL) <> (a.value IS NULL)
                   OR abs(e.value - a.value) > $tol * greatest(abs(e.value), 1e-12)))
        FROM {expected} AS e FULL JOIN kpi.values AS a ON {on}
        """,
        {"tol": TOLERANCE},
    ).fetchall()[0]
    unmatched, differing = row
    if unmatched or differing:
        return f"{unmatched} keys on one engine only, {differing} values differing"
    return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="medium", choices=["small", "medium", "large"])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--home", type=Path, help="default: bench-out/engines/home-<scale>")
    parser.add_argument("--master", default="local[2]", help="Spark master URL")
    parser.add_argument("--no-spark", action="store_true", help="time DuckDB only")
    args = parser.parse_args()
    home = (args.home or ROOT / "bench-out" / "engines" / f"home-{args.scale}").resolve()
    settings = ensure_landed(home, args.seed, args.scale)
    rss = PeakRss()
    failed = ""
    with tempfile.TemporaryDirectory(prefix="enginebench-") as tmp:
        con = connect_writer(copy_warehouse(settings.warehouse_path, Path(tmp)))
        lines, last = con.execute(
            "SELECT count(*), max(order_ts_local_date) FROM sales_order_lines"
        ).fetchall()[0]
        as_of: date = last + timedelta(days=1)
        print(
            f"{lines:,} order lines; as_of {as_of}; {os.cpu_count()} CPUs; duckdb {duckdb.__version__}"
        )
        lake = Path(tmp) / "lake"
        _, published = _timed(
            "lake publish (first, every table)", rss, lambda: publish_lake(con, lake, as_of=as_of)
        )
        print(f"  version {published.version}")
        _, report = _timed(
            "KPI refresh, DuckDB (warehouse)", rss, lambda: refresh_kpis(con, as_of=as_of)
        )
        _print_report(report)
        _snapshot(con, "bench_duckdb_values")
        reader = duckdb.connect()
        register_duckdb(reader, lake)
        _, report = _timed(
            "KPI refresh, DuckDB (lake)",
            rss,
            lambda: refresh_kpis(con, as_of=as_of, engine=DuckDBEngine(reader)),
        )
        _print_report(report)
        failed = _compare(con, "bench_duckdb_values")
        if not args.no_spark:
            _, engine = _timed(
                f"Spark start ({args.master})",
                rss,
                lambda: SparkEngine.start(SparkConfig(master=args.master)),
            )
            try:
                _timed("Spark lake registration", rss, lambda: register_spark(engine, lake))
                _, report = _timed(
                    f"KPI refresh, Spark {args.master}",
                    rss,
                    lambda: refresh_kpis(con, as_of=as_of, engine=engine),
                )
                _print_report(report)
                failed = failed or _compare(con, "bench_duckdb_values")
            finally:
                engine.close()
        con.close()
    rss.stop()
    if failed:
        sys.exit(f"the engines' KPI values differ: {failed}")
    print("values equal on every engine (keys exact, figures to 1e-9)")


if __name__ == "__main__":
    main()
