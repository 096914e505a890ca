"""Exception detection benchmark over the medium demo data.

    python benchmarks/exceptions.py [--scale medium] [--seed 7] [--workdir bench-out/exceptions]

Generates the demo extracts (once; reused when the folder exists), lands
them through the pipeline (which runs detection once, creating the queue),
then times `refresh_exceptions` on the landed warehouse: a run where every
condition persists (the steady state of the scheduler), a pipeline run that
lands a 1% delta of the order lines (the step detects only what it touched)
and a run with a fresh, empty app database (every item created). Prints rows
per landed table, conditions per type and the detect / reconcile / mirror
split. The target is seconds, not minutes.

Then the queue's write path alone (`--queue-items N`, 0 skips it): N conditions of
one type that clears, reconciled into an empty SQLite app database (every item
created), again (every item seen), then with none true (every item cleared).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import duckdb
from support.delta import write_order_line_delta
from support.demo import demo_extracts

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from control_tower.exceptions.detect import DetectionReport, refresh_exceptions  # noqa: E402
from control_tower.exceptions.reconcile import reconcile  # noqa: E402
from control_tower.exceptions.store import ExceptionStore  # noqa: E402
from control_tower.settings import Settings, load_settings  # noqa: E402
from pipelines.run import run_pipeline  # noqa: E402


def main() -> None:
    """Generate, land, then time detection in its two regimes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="medium", choices=["small", "medium", "large"])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench-out" / "exceptions")
    parser.add_argument("--queue-items", type=int, default=100_000)
    args = parser.parse_args()

    extracts, _ = demo_extracts(args.workdir, args.scale, args.seed)
    home = args.workdir / "home"
    shutil.rmtree(home, ignore_errors=True)
    settings = load_settings(home)
    settings.ensure_dirs()

    t0 = time.perf_counter()
    report = run_pipeline(settings, trigger="cli", inbox=extracts, keep=True)
    step = next((s for s in report.steps if s.name == "exceptions"), None)
    print(f"landed in {time.perf_counter() - t0:.1f}s; rows {report.ingest.rows_loaded:,}")
    if step:
        print(f"pipeline step 'exceptions' (first run, empty queue): {step.ms} ms, {step.status}")

    now = datetime.now(UTC).replace(tzinfo=None)
    timed(
        settings.warehouse_path, settings.app_db_url, now, "steady state (every condition persists)"
    )
    delta(settings, now)
    cold = f"sqlite:///{(home / 'bench-cold.sqlite').resolve()}"
    r = timed(settings.warehouse_path, cold, now, "cold (empty app database)")
    print("\nconditions by type:")
    for name, n in r.detected.items():
        print(f"  {name:<24} {n:>8,}")
    if args.queue_items:
        queue_writes(args.queue_items, args.workdir / "queue.sqlite")


def timed(warehouse: Path, url: str, now: datetime, label: str) -> DetectionReport:
    """One full detection against `url`, timed."""
    con = duckdb.connect(str(warehouse))
    con.execute("SET TimeZone = 'UTC'")
    try:
        t0 = time.perf_counter()
        r = refresh_exceptions(con, url, as_of=now.date(), now=now)
    finally:
        con.close()
    print(f"\n{label}: {time.perf_counter() - t0:.2f}s total, {r.ms}")
    print(f"  {r.summary()}")
    return r


def queue_writes(n: int, path: Path) -> None:
    """Reconcile `n` synthetic order_at_risk conditions: created, seen, then all cleared."""
    path.unlink(missing_ok=True)
    con = duckdb.connect()
    con.execute(
        "CREATE TEMP TABLE exc_detected AS SELECT 'order_at_risk' AS type, "
        "'SO' || i || '|1' AS key, 'DC-NJ' AS location_id, 'US01' AS entity_id, "
        "'SKU' || (i % 5000) AS item_id, '{\"order_id\": \"SO' || i || '\"}' AS detail, "
        "12.5 AS value_at_risk, 'medium' AS severity, "
        "TIMESTAMP '2026-03-10 10:00' AS event_at, true AS in_window FROM range(?) AS t(i)",
        [n],
    )
    print(f"\nqueue writes, {n:,} items (SQLite app database):")
    with ExceptionStore.open(f"sqlite:///{path.resolve()}") as store:
        for hour, label in ((11, "created"), (12, "seen"), (13, "cleared")):
            if label == "cleared":
                con.execute("DELETE FROM exc_detected")
            tally = SimpleNamespace(actions=Counter(), conflicts=0)
            t0 = time.perf_counter()
            now = datetime(2026, 3, 18, hour)
            reconcile(con, store, now=now, types=["order_at_risk"], report=tally)
            took = time.perf_counter() - t0
            print(f"  {label:<8} {took:6.1f}s  {dict(tally.actions)}")
    con.close()


def delta(settings: Settings, now: datetime) -> None:
    """A pipeline run landing 1% of the order lines changed: the exceptions step's time."""
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        drop = write_order_line_delta(
            con, settings.inbox, fraction=0.01, changed_at=now, as_of=now.date()
        )
    report = run_pipeline(settings, trigger="cli", inbox=settings.inbox, keep=True)
    step = next(s for s in report.steps if s.name == "exceptions")
    print(f"\ndelta of {drop.rows:,} order lines, step 'exceptions': {step.ms} ms, {step.refresh}")
    print(f"  {step.summary}")


if __name__ == "__main__":
    main()
