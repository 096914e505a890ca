"""A step that keeps large frames in Python gives DuckDB a share of its memory limit while it
runs, and the limit is restored after it, whether it succeeds or fails."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from control_tower.settings import MIB, load_settings
from pipelines import steps
from pipelines.run import duckdb_memory_share


def _limit(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute("SELECT value FROM duckdb_settings() WHERE name = 'memory_limit'").fetchone()
    assert row is not None
    number, unit = str(row[0]).split()
    scale = {"MiB": MIB, "GiB": 1024 * MIB, "KiB": 1024}[unit]
    return round(float(number) * scale / MIB)


def test_the_limit_is_lowered_for_the_step_and_restored_after(tmp_path: Path):
    settings = load_settings(tmp_path)
    full = settings.duckdb.memory_bytes // MIB
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{full}MiB'")
    with duckdb_memory_share(con, settings, 0.5):
        assert _limit(con) == full // 2
    assert _limit(con) == full
    seen: list[int] = []

    def failing_step() -> None:
        with duckdb_memory_share(con, settings, 0.25):
            seen.append(_limit(con))
            raise RuntimeError("the step failed")

    with pytest.raises(RuntimeError, match="the step failed"):
        failing_step()
    assert seen == [full // 4]
    assert _limit(con) == full


def test_the_risk_step_leaves_memory_to_its_python_work():
    shares = {step.name: step.duckdb_memory_share for step in steps.POST_LOAD_STEPS}
    assert shares["risk"] == steps.RISK_DUCKDB_MEMORY_SHARE < 1
    assert shares["kpis"] == 1.0


def test_a_share_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError, match="duckdb_memory_share must be in"):
        steps.Step("odd", lambda ctx: "", "a step", duckdb_memory_share=1.5)
