"""Exception detection benchmark over the medium demo data.

    python benchmarks/exceptions.py [--scale medium] [--seed 7] [--workdir bench-out/exceptions]

Generates the demo extracts (once; reused when the folder exists), lands
them through the pipeline (which runs detection once, creating the queue),
then times `refresh_exceptions` twice more on the landed warehouse: a run
where every condition persists (the steady state of the scheduler) and a run
with a fresh, empty app database (every item created). Prints rows per
landed table, conditions per type and the detect / reconcile / mirror split.
The target is seconds, not minutes.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from support.demo import demo_extracts

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from control_tower.exceptions.detect import refresh_exceptions  # noqa: E402
from control_tower.settings import load_settings  # noqa: E402
from pipelines.run import run_pipeline  # noqa: E402


def main() -> None:
    """Generate, land, then time detection in its two regimes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="medium", choices=["small", "medium", "large"])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench-out" / "exceptions")
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

    con = duckdb.connect(str(settings.warehouse_path))
    con.execute("SET TimeZone = 'UTC'")
    try:
        now = datetime.now(UTC).replace(tzinfo=None)
        for label, url in (
            ("steady state (every condition persists)", settings.app_db_url),
            ("cold (empty app database)", f"sqlite:///{(home / 'bench-cold.sqlite').resolve()}"),
        ):
            t0 = time.perf_counter()
            r = refresh_exceptions(con, url, as_of=now.date(), now=now)
            total = time.perf_counter() - t0
            print(f"\n{label}: {total:.2f}s total, {r.ms}")
            print(f"  {r.summary()}")
        print("\nconditions by type:")
        for name, n in r.detected.items():
            print(f"  {name:<24} {n:>8,}")
    finally:
        con.close()


if __name__ == "__main__":
    main()
