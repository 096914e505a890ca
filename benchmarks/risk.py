"""Risk models on the medium demo: model vs baseline on later, unseen weeks, with timings,
peak memory and DuckDB temp disk.

Run: `.venv/bin/python benchmarks/risk.py [--scale medium] [--seed 7] [--home DIR]`.
Generates the demo (as of 2026-03-15) into a temporary folder (or lands it once into
`--home` and reuses it on later runs), lands it, then for each model builds its training
examples and backtests it. For both parts it prints the time, the process's peak resident
memory (sampled every 50 ms) and the peak bytes in DuckDB's temp directory (spill).
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from control_tower.demo import generate
from control_tower.risk.training import EVERY_DAYS, backtest, examples
from control_tower.settings import load_settings
from pipelines.run import run_pipeline

METRICS = ("roc_auc", "average_precision", "brier", "precision_at_events", "precision_at_k")


def _rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def measured(work: Callable[[], Any], temp_dir: Path) -> tuple[Any, float, int, int]:
    """`work()` with its seconds, the peak RSS and the peak bytes of `temp_dir` while it ran."""
    peaks = [_rss_bytes(), _dir_bytes(temp_dir)]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            peaks[0] = max(peaks[0], _rss_bytes())
            peaks[1] = max(peaks[1], _dir_bytes(temp_dir))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.perf_counter()
    try:
        result = work()
    finally:
        done.set()
        sampler.join()
    return result, time.perf_counter() - t0, peaks[0], peaks[1]


def _resources(seconds: float, rss: int, temp: int) -> str:
    return f"{seconds:.1f}s, peak RSS {rss / 2**20:,.0f} MB, DuckDB temp {temp / 2**20:,.0f} MB"


def run(home: Path, scale: str, seed: int) -> None:
    """Land the demo into `home` unless a warehouse is there, then measure each model."""
    settings = load_settings(home)
    settings.ensure_dirs()
    if not settings.warehouse_path.exists():
        t0 = time.perf_counter()
        generate(settings.inbox, seed=seed, scale=scale, as_of=dt.date(2026, 3, 15))
        t1 = time.perf_counter()
        run_pipeline(settings, trigger="cli", inbox=settings.inbox)  # includes the risk step
        t2 = time.perf_counter()
        print(f"{scale} demo: generate {t1 - t0:.1f}s, land + post-load steps {t2 - t1:.1f}s")
    temp_dir = home / "duckdb_temp"
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    con.execute(f"SET temp_directory = '{temp_dir}'")
    for model in ("stockout", "late_order"):
        rows, *use = measured(
            lambda m=model: len(examples(con, m, every_days=EVERY_DAYS[m])), temp_dir
        )
        print(f"\n{model}: training examples ({rows:,} rows) {_resources(*use)}")
        result, *use = measured(lambda m=model: backtest(con, m), temp_dir)
        card = result.card
        print(
            f"{model}: train {card['train_window']['start']}..{card['train_window']['end']} "
            f"({card['rows']['train']} rows), test {card['test_window']['start']}.."
            f"{card['test_window']['end']} ({card['rows']['test']} rows); "
            f"features + fit + evaluate {_resources(*use)}"
        )
        print(f"  {'metric':<20}{'model':>10}{'baseline':>10}")
        for name in METRICS:
            m, b = card["metrics"]["model"][name], card["metrics"]["baseline"][name]
            print(f"  {name:<20}{m:>10}{b:>10}")
        print(f"  {card['candidate']}; {card['champion']['reason']}")
    con.close()


def main() -> None:
    """Generate, land, build examples and backtest; print metrics side by side and resources."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", default="medium")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--home", type=Path, default=None, help="keep the landed demo here")
    args = parser.parse_args()
    if args.home is not None:
        run(args.home.resolve(), args.scale, args.seed)
        return
    with tempfile.TemporaryDirectory() as tmp:
        run(Path(tmp), args.scale, args.seed)


if __name__ == "__main__":
    main()
