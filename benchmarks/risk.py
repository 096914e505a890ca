"""Risk models on the medium demo: model vs baseline on later, unseen weeks, with timings.

Run: `.venv/bin/python benchmarks/risk.py [--scale medium] [--seed 7]`. Generates the
demo (as of 2026-03-15) into a temporary folder, lands it, then backtests each model.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

import duckdb

from control_tower.demo import generate
from control_tower.risk.training import backtest
from control_tower.settings import load_settings
from pipelines.run import run_pipeline

METRICS = ("roc_auc", "average_precision", "brier", "precision_at_events", "precision_at_k")


def main() -> None:
    """Generate, land, backtest; print metrics side by side and the time each part took."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", default="medium")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(Path(tmp))
        settings.ensure_dirs()
        t0 = time.perf_counter()
        generate(settings.inbox, seed=args.seed, scale=args.scale, as_of=dt.date(2026, 3, 15))
        t1 = time.perf_counter()
        run_pipeline(settings, trigger="cli", inbox=settings.inbox)  # includes the risk step
        t2 = time.perf_counter()
        print(f"{args.scale} demo: generate {t1 - t0:.1f}s, land + post-load steps {t2 - t1:.1f}s")
        con = duckdb.connect(str(settings.warehouse_path), read_only=True)
        for model in ("stockout", "late_order"):
            result = backtest(con, model)
            card = result.card
            print(
                f"\n{model}: train {card['train_window']['start']}..{card['train_window']['end']} "
                f"({card['rows']['train']} rows), test {card['test_window']['start']}.."
                f"{card['test_window']['end']} ({card['rows']['test']} rows), "
                f"features + fit + evaluate {result.seconds:.1f}s"
            )
            print(f"  {'metric':<20}{'model':>10}{'baseline':>10}")
            for name in METRICS:
                m, b = card["metrics"]["model"][name], card["metrics"]["baseline"][name]
                print(f"  {name:<20}{m:>10}{b:>10}")
        con.close()


if __name__ == "__main__":
    main()
