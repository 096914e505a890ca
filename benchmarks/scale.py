"""Scale benchmark: first land, a delta drop until it is served, and web throughput, at a scale.

    python benchmarks/scale.py [--scale large] [--seed 7] [--workdir bench-out/scale]
                               [--home PATH] [--reuse] [--delta 0.01] [--temp-dir PATH]
                               [--no-web] [--rounds 2] [--threads 8] [--json PATH]

1. Generates the demo extracts of `--scale` once (`control-tower generate`,
   reused from `--workdir` after) and lands them into a fresh data folder
   (`--home`, by default under `--workdir`) with `control-tower ingest` in a
   subprocess. `--reuse` keeps a data folder that already has a published
   snapshot and starts at step 2.
2. While it runs, every 0.25 s: the resident memory of the ingest's process
   tree, the bytes under DuckDB's temp directory (the configured
   `CONTROL_TOWER_DUCKDB_TEMP_DIR`, unless `--temp-dir` names another) and
   under the data folder. The run's record in `ops.runs` / `ops.batches` splits the run into landing, each
   post-load step and the publish, each with its own peaks.
3. A delta: `--delta` of the landed order lines (1%) changed (status one step
   on, one more unit on every other line) and dropped as one extract file in
   the inbox, then `control-tower ingest`. Measured from the drop: the new
   serving snapshot published, and the served `unit_fill_rate` of every
   affected day changed by exactly what the delta implies (read through
   the serving store, as the web app reads).
4. Web throughput (`--no-web` skips it): benchmarks/web.py's recorded-callback
   replay on the landed data, 20 users with a 1 s mean pause and 50 users
   without pause, and the web worker's peak RSS.
5. Prints every figure with the scale targets next to it (the targets are
   for the large demo; the 50-user throughput for the medium one) and writes
   them as JSON with `--json`. A missed target is reported, not an error.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
from support.delta import KPI, DeltaDrop, write_order_line_delta
from support.demo import control_tower, demo_extracts, product_env
from support.monitor import Monitored, disk_bytes, run_monitored, status_bytes

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from control_tower.settings import Settings, load_settings  # noqa: E402
from control_tower.storage.serving import ServingStore, current_snapshot  # noqa: E402

MB, GB = 1024**2, 1024**3
# The scale targets: (limit, "max" = the figure must stay under it, "min" = reach it).
TARGETS: dict[str, tuple[float, str]] = {
    "first land: wall": (600.0, "max"),
    "first land: peak RSS": (4 * GB, "max"),
    "first land: peak temp disk": (10 * GB, "max"),
    "delta: drop to new KPI values served": (60.0, "max"),
    "web 50 users, no pause: callbacks/s": (100.0, "min"),
    "web 50 users, no pause: server p95": (300.0, "max"),
    "web 20 users, 1 s pause: server p95": (300.0, "max"),
    "web worker: peak RSS": (1 * GB, "max"),
}


@dataclass
class Figure:
    """One measured figure, with the unit it prints in."""

    name: str
    value: float | str | None
    unit: str = ""

    def shown(self, value: float | str | None = None) -> str:
        """The value (or `value`) in the figure's unit."""
        value = self.value if value is None else value
        if value is None:
            return "-"
        if isinstance(value, str):
            return value
        if self.unit == "bytes":
            return f"{value / GB:.2f} GB" if value >= GB else f"{value / MB:,.0f} MB"
        return f"{value:,.1f} {self.unit}".rstrip() if self.unit else f"{value:,.0f}"

    def verdict(self) -> tuple[str, str]:
        """The target as text and pass / FAIL ('' without a target or a value)."""
        if self.name not in TARGETS:
            return "", ""
        limit, kind = TARGETS[self.name]
        target = ("< " if kind == "max" else ">= ") + self.shown(limit)
        if not isinstance(self.value, int | float):
            return target, ""
        met = self.value < limit if kind == "max" else self.value >= limit
        return target, "pass" if met else "FAIL"


def _run_record(warehouse: Path) -> dict[str, Any]:
    """The newest run of `ops.runs`, its steps and when its landing ended (epoch seconds)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        run_id, status, started, finished, steps = con.execute(
            "SELECT run_id, status, started_at, finished_at, steps FROM ops.runs "
            "ORDER BY started_at DESC LIMIT 1"
        ).fetchone()
        landed, rows = con.execute(
            "SELECT max(finished_at), sum(rows_inserted + rows_updated) FROM ops.batches "
            "WHERE run_id = ?",
            [run_id],
        ).fetchone()

    def epoch(value: datetime | None) -> float | None:
        return value.replace(tzinfo=UTC).timestamp() if value else None

    return {
        "run_id": run_id,
        "status": status,
        "started": epoch(started),
        "landed": epoch(landed) or epoch(started),
        "finished": epoch(finished),
        "rows": rows or 0,
        "steps": json.loads(steps or "[]"),
    }


def _phases(mon: Monitored, run: dict[str, Any]) -> list[tuple[str, float, float, str]]:
    """(name, start, end, status) of each part of a run: start-up, landing, each post-load
    step (steps run back to back, ending when the run is recorded), publish and exit."""
    phases = [
        ("start-up", mon.started, run["started"], "ok"),
        ("landing", run["started"], run["landed"], "ok"),
    ]
    end = run["finished"]
    steps = []
    for step in reversed(run["steps"]):
        start = end - step["ms"] / 1000
        steps.append((f"step {step['name']}", start, end, step["status"]))
        end = start
    phases += reversed(steps)
    phases.append(("publish + exit", run["finished"], mon.ended, "ok"))
    return phases


def _monitored_ingest(
    settings: Settings, temp_dir: Path, *args: str | Path, on_sample: Any = None
) -> tuple[Monitored, dict[str, Any]]:
    """`control-tower ingest` on the data folder, monitored; the run it recorded."""
    mon = run_monitored(
        control_tower("--home", settings.home, "ingest", *args),
        env=product_env(),
        watch=(temp_dir, settings.home),
        on_sample=on_sample,
    )
    if mon.code != 0:
        print(mon.output[-3000:])
        raise SystemExit(f"control-tower ingest failed with exit code {mon.code}")
    return mon, _run_record(settings.warehouse_path)


def _ingest_figures(label: str, mon: Monitored, run: dict[str, Any]) -> list[Figure]:
    figures = [
        Figure(f"{label}: wall", mon.seconds, "s"),
        Figure(f"{label}: rows landed", run["rows"]),
        Figure(f"{label}: run status", run["status"]),
        Figure(f"{label}: every step successful", "yes" if run["status"] == "ok" else "no"),
        Figure(f"{label}: peak RSS", mon.peak_rss(), "bytes"),
        Figure(f"{label}: peak RSS of the ingest process (kernel)", mon.process_peak_rss, "bytes"),
        Figure(f"{label}: peak temp disk", mon.peak_growth(0), "bytes"),
        Figure(f"{label}: peak data folder growth", mon.peak_growth(1), "bytes"),
    ]
    for name, start, end, status in _phases(mon, run):
        prefix = f"{label} / {name}"
        figures += [
            Figure(f"{prefix}: seconds", end - start, "s"),
            Figure(f"{prefix}: peak RSS", mon.peak_rss(start, end), "bytes"),
            Figure(f"{prefix}: peak temp disk", mon.peak_growth(0, start, end), "bytes"),
        ]
        if status != "ok":
            figures.append(Figure(f"{prefix}: status", status))
    return figures


def _served_denominators(store: ServingStore, as_of: date) -> dict[date, float]:
    with store.cursor() as cur:
        rows = cur.execute(
            "SELECT period, denominator FROM kpi.values WHERE kpi = ? AND as_of = ? "
            "AND grain = 'day' AND dimension = 'ALL' AND period IS NOT NULL",
            [KPI, as_of],
        ).fetchall()
    return {period: denominator or 0.0 for period, denominator in rows}


def _reflects(before: dict[date, float], after: dict[date, float], drop: DeltaDrop) -> bool:
    """Every day the delta touches moved by exactly the delta's change of ordered units."""
    return bool(drop.denominator_change) and all(
        abs(after.get(day, 0.0) - before.get(day, 0.0) - change) < 1e-6
        for day, change in drop.denominator_change.items()
    )


def delta_run(settings: Settings, temp_dir: Path, fraction: float) -> list[Figure]:
    """Drop the delta in the inbox, ingest it, and time until its values are served."""
    store = ServingStore(settings.serving_dir)
    with store.cursor() as cur:
        (as_of,) = cur.execute("SELECT max(as_of) FROM kpi.values WHERE kpi = ?", [KPI]).fetchone()
    before = _served_denominators(store, as_of)
    previous = current_snapshot(settings.serving_dir)
    t0 = time.perf_counter()
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        drop = write_order_line_delta(
            con, settings.inbox, fraction=fraction, changed_at=datetime.now(UTC), as_of=as_of
        )
    dropped, written = time.time(), time.perf_counter() - t0
    print(f"delta: {drop.rows:,} order-line updates in {drop.path.name}")
    seen: dict[str, float] = {}

    def watch(_elapsed: float) -> None:
        if "served" in seen or current_snapshot(settings.serving_dir) == previous:
            return
        seen.setdefault("published", time.time() - dropped)
        if _reflects(before, _served_denominators(store, as_of), drop):
            seen["served"] = time.time() - dropped

    mon, run = _monitored_ingest(settings, temp_dir, on_sample=watch)
    watch(0.0)  # the publish may have come after the last sample
    store.close()
    return [
        Figure("delta: order-line updates", drop.rows),
        Figure("delta: quantity changes", drop.quantity_changes),
        Figure("delta: status changes", drop.status_changes),
        Figure("delta: writing the file", written, "s"),
        Figure("delta: drop to snapshot published", seen.get("published"), "s"),
        Figure("delta: drop to new KPI values served", seen.get("served"), "s"),
        Figure("delta: KPI values reflect the delta", "yes" if "served" in seen else "no"),
        *_ingest_figures("delta ingest", mon, run),
    ]


def web_runs(settings: Settings, rounds: int, threads: int) -> list[Figure]:
    """benchmarks/web.py's recorded-callback replay at 20 and 50 users on the landed data."""
    import web

    users = web._users(settings)
    proc, url = web._start_server(settings, threads)
    figures = []
    try:
        recorded = web.record_pages(settings, url, users)
        for count, think in ((20, 1.0), (50, 0.0)):
            timings, wall = web.replay_users(url, users, recorded, count, rounds, think)
            server = [st for values in timings.values() for st, _ in values]
            trips = [rt for values in timings.values() for _, rt in values]
            label = f"web {count} users, " + ("1 s pause" if think else "no pause")
            figures += [
                Figure(f"{label}: callbacks/s", len(server) / wall, "/s"),
                Figure(f"{label}: server p50", statistics.median(server), "ms"),
                Figure(f"{label}: server p95", web._pct(server, 0.95), "ms"),
                Figure(f"{label}: round trip p95", web._pct(trips, 0.95), "ms"),
            ]
        # Every serving process (the gunicorn master and each worker): the largest one's peak.
        peaks = [status_bytes(pid, "VmHWM") or 0 for pid in web._rss_mb(proc.pid)]
        figures.append(Figure("web worker: peak RSS", max(peaks, default=0), "bytes"))
    finally:
        proc.kill()
        proc.wait()
    return figures


def _print(figures: list[Figure], scale: str) -> None:
    width = max(len(f.name) for f in figures)
    print(f"\nscale {scale}; targets are for the large demo (50-user throughput: medium)")
    print(f"{'figure':<{width}}  {'value':>12}  {'target':>10}  result")
    for figure in figures:
        target, verdict = figure.verdict()
        print(f"{figure.name:<{width}}  {figure.shown():>12}  {target:>10}  {verdict}")


def main() -> None:
    """Generate, land, drop a delta, replay the web app; print (and write) every figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="large", choices=["small", "medium", "large"])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench-out" / "scale")
    parser.add_argument("--home", type=Path, help="data folder (default: under --workdir)")
    parser.add_argument("--reuse", action="store_true", help="keep a landed data folder")
    parser.add_argument("--delta", type=float, default=0.01, help="share of order lines")
    parser.add_argument("--temp-dir", type=Path, help="DuckDB temp directory to watch")
    parser.add_argument("--no-web", action="store_true", help="skip the web throughput")
    parser.add_argument("--rounds", type=int, default=2, help="visits of every page per user")
    parser.add_argument("--threads", type=int, default=8, help="waitress threads")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    args.workdir.mkdir(parents=True, exist_ok=True)
    home = (args.home or args.workdir / f"home-{args.scale}-{args.seed}").resolve()
    reuse = args.reuse and current_snapshot(home / "serving") is not None
    if not reuse:
        shutil.rmtree(home, ignore_errors=True)
    settings = load_settings(home).with_home(home)
    settings.ensure_dirs()
    temp_dir = args.temp_dir or settings.duckdb.temp_dir  # where the product spills
    figures: list[Figure] = []
    if not reuse:
        extracts, generated = demo_extracts(args.workdir, args.scale, args.seed)
        figures += [
            Figure("generate: wall", generated if generated is not None else "reused", "s"),
            Figure("extracts: size", disk_bytes(extracts), "bytes"),
        ]
        mon, run = _monitored_ingest(settings, temp_dir, "--inbox", extracts, "--keep")
        figures += _ingest_figures("first land", mon, run)
        print(f"first land: {mon.seconds:.1f}s, run {run['status']}")
    figures += delta_run(settings, temp_dir, args.delta)
    figures.append(Figure("data folder: size", disk_bytes(home), "bytes"))
    if not args.no_web:
        figures += web_runs(settings, args.rounds, args.threads)
    _print(figures, args.scale)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "scale": args.scale,
            "seed": args.seed,
            "cpus": os.cpu_count(),
            "machine": platform.platform(),
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        rows = [{**asdict(f), "target": f.verdict()[0], "result": f.verdict()[1]} for f in figures]
        args.json.write_text(json.dumps({**meta, "figures": rows}, indent=2, default=str) + "\n")
        print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
