"""Demo extracts for a benchmark, generated once per scale and seed and reused after."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from control_tower.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def product_env(**extra: str) -> dict[str, str]:
    """The environment for a `control-tower` subprocess: this checkout's code first, the real
    clock (no CONTROL_TOWER_NOW), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k != "CONTROL_TOWER_NOW"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return {**env, **extra}


def control_tower(*args: str | Path) -> list[str]:
    """The command line of `control-tower <args>` with this interpreter and checkout."""
    return [sys.executable, "-m", "control_tower", *(str(a) for a in args)]


def demo_extracts(workdir: Path, scale: str, seed: int) -> tuple[Path, float | None]:
    """The demo extracts of `scale` and `seed` under `workdir`, and the seconds
    `control-tower generate` took (None when an earlier run's complete folder is reused).
    A folder is written under a temporary name, so an interrupted run leaves nothing reused."""
    extracts = workdir / f"extracts-{scale}-{seed}"
    if extracts.exists():
        return extracts, None
    partial = workdir / f".{extracts.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    t0 = time.perf_counter()
    subprocess.run(
        control_tower("generate", "--out", partial, "--scale", scale, "--seed", str(seed)),
        env=product_env(),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - t0
    partial.rename(extracts)
    print(f"generated {scale} demo data in {seconds:.1f}s")
    return extracts, seconds


def copy_warehouse(source: Path, folder: Path) -> Path:
    """A copy of the warehouse file `source` (and its write-ahead log) in `folder`, to write."""
    copy = folder / "warehouse.duckdb"
    shutil.copyfile(source, copy)
    wal = source.with_name(source.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, copy.with_name(copy.name + ".wal"))
    return copy


def _landed_lines(path: Path) -> int:
    """Order lines in the warehouse at `path` (0 when there is none, or it cannot be read)."""
    import duckdb

    if not path.exists():
        return 0
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return 0
    try:
        row = con.execute("SELECT count(*) FROM sales_order_lines").fetchone()
        return int(row[0]) if row else 0
    except duckdb.Error:
        return 0
    finally:
        con.close()


def ensure_landed(home: Path, seed: int, scale: str) -> Settings:
    """The settings of `home`, generating and landing the demo data when it has none."""
    from control_tower.demo.generator import generate
    from control_tower.settings import load_settings
    from pipelines.run import run_pipeline

    settings = load_settings(home).with_home(home)
    if _landed_lines(settings.warehouse_path):
        return settings
    inbox = home.parent / f"extracts-{scale}-{seed}"
    if not inbox.exists():
        t0 = time.perf_counter()
        generate(inbox, seed=seed, scale=scale)
        print(f"generated {scale} demo data (seed {seed}) in {time.perf_counter() - t0:.1f}s")
    settings.ensure_dirs()
    t0 = time.perf_counter()
    report = run_pipeline(settings, trigger="cli", inbox=inbox, keep=True)
    print(f"landed in {time.perf_counter() - t0:.1f}s; rows {report.ingest.rows_loaded:,}")
    return settings
