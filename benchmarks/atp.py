"""Available to promise on a landed demo: the time of one answer for every open line's item
and site, and of a 20-line order.

Run: `.venv/bin/python benchmarks/atp.py [--scale medium] [--seed 7] [--home DIR] [--limit N]`.
With `--home` holding a landed warehouse it reads that (its newest serving snapshot, as the
app does); otherwise it generates the demo (as of 2026-03-15) into `--home` (or a temporary
folder) and lands it first. For each (item, site) of the open and backordered order lines,
one request for that line's quantity, wanted on its promised date, is answered alone (all
of them, or the first `--limit`); it prints p50 / p95 / max per request. Then it answers
20 of them as one order, without and with the late-order risk of every suggested date (the
first order of a snapshot computes the risk model's group features, later ones reuse them).
Targets: under 200 ms per request, under 1 s for the order (medium).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

from control_tower.accounts import Scope
from control_tower.demo import generate
from control_tower.kpi.serving import SnapshotCache, keeping
from control_tower.promising.answer import PromiseRequest, answer
from control_tower.risk.promise_risk import promise_risk
from control_tower.settings import load_settings
from control_tower.storage import ServingStore
from pipelines.run import run_pipeline

ORDER_LINES = 20

# One open line per (item, site): its quantity to ship and current promise.
REQUESTS_SQL = """
SELECT item_id, location_id, arg_min(CAST(ordered_qty AS DOUBLE), order_id || line_no),
       arg_min(promised_date, order_id || line_no)
FROM sales_order_lines WHERE status IN ('open', 'backordered')
GROUP BY item_id, location_id ORDER BY item_id, location_id
"""


def _ms(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return (
        f"p50 {statistics.median(ordered) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, "
        f"max {ordered[-1] * 1000:.1f} ms"
    )


def run(home: Path, scale: str, seed: int, limit: int | None) -> None:
    """Land the demo into `home` unless a warehouse is there, then time the answers."""
    settings = load_settings(home).with_home(home)
    settings.ensure_dirs()
    if not settings.warehouse_path.exists():
        t0 = time.perf_counter()
        generate(settings.inbox, seed=seed, scale=scale, as_of=dt.date(2026, 3, 15))
        run_pipeline(settings, trigger="cli", inbox=settings.inbox)
        print(f"{scale} demo generated and landed in {time.perf_counter() - t0:.1f}s")
    store = ServingStore(settings.serving_dir, settings.duckdb)
    try:
        with store.cursor() as cur:
            rows = cur.execute(REQUESTS_SQL).fetchall()[:limit]
            requests = [PromiseRequest(r[0], r[1], r[2], r[3]) for r in rows]
            print(f"{len(requests):,} item-sites with open lines")
            times, statuses = [], {}
            for request in requests:
                t0 = time.perf_counter()
                (found,) = answer(cur, [request], scope=Scope())
                times.append(time.perf_counter() - t0)
                statuses[found.status] = statuses.get(found.status, 0) + 1
            print(f"one request: {_ms(times)} ({statuses})")
            order = requests[:: max(1, len(requests) // ORDER_LINES)][:ORDER_LINES]
            t0 = time.perf_counter()
            answer(cur, order, scope=Scope())
            print(f"{len(order)}-line order: {(time.perf_counter() - t0) * 1000:.0f} ms")
            risk = promise_risk(cur, settings.models_dir)
            with keeping(settings.serving_dir, SnapshotCache(8)):  # as the web app reads
                for when in ("first of the snapshot", "later"):
                    t0 = time.perf_counter()
                    scored = answer(cur, order, scope=Scope(), risk=risk)
                    print(
                        f"{len(order)}-line order with risk, {when}: "
                        f"{(time.perf_counter() - t0) * 1000:.0f} ms ({scored[0].risk_note})"
                    )
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="medium", choices=["small", "medium", "large"])
    parser.add_argument("--seed", default=7, type=int)
    parser.add_argument("--home", type=Path, help="Landed data folder (reused), or where to land.")
    parser.add_argument("--limit", type=int, help="Time only the first N item-sites.")
    args = parser.parse_args()
    if args.home:
        run(args.home, args.scale, args.seed, args.limit)
        return
    with tempfile.TemporaryDirectory(prefix="atp-bench-") as tmp:
        run(Path(tmp) / "home", args.scale, args.seed, args.limit)


if __name__ == "__main__":
    main()
