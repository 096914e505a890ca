"""The pipeline's `lake` step and the `control-tower lake` commands."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from control_tower.cli import main
from control_tower.lake.read import current_manifest
from control_tower.landing.ingest import IngestReport
from control_tower.settings import Settings, load_settings
from control_tower.storage.changes import Changes
from pipelines.steps import POST_LOAD_STEPS, StepContext
from tests.support.data_copies import private_copy
from tests.support.demo_data import DEMO_AS_OF
from tests.support.lake import Published


def _run_lake_step(settings: Settings, con: duckdb.DuckDBPyConnection) -> str:
    step = next(s for s in POST_LOAD_STEPS if s.name == "lake")
    ctx = StepContext(
        settings, con, "run-lake", IngestReport(), as_of=DEMO_AS_OF,
        changes=Changes.full_refresh("requested"),
    )  # fmt: skip
    return step.run(ctx)


def test_the_lake_step_runs_after_the_exceptions_and_before_the_kpis() -> None:
    names = [s.name for s in POST_LOAD_STEPS]
    assert names.index("exceptions") < names.index("lake") < names.index("kpis")


def test_the_lake_step_is_off_without_a_lake_folder(
    demo_settings: Settings, writable: duckdb.DuckDBPyConnection
) -> None:
    off = dataclasses.replace(demo_settings, lake_dir=None)
    assert _run_lake_step(off, writable) == "lake publishing off (set CONTROL_TOWER_LAKE_DIR)"


def test_the_lake_step_publishes_into_the_configured_folder(
    demo_settings: Settings, writable: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    on = dataclasses.replace(demo_settings, lake_dir=tmp_path / "lake")
    summary = _run_lake_step(on, writable)
    assert summary.startswith("lake v000001: ")
    manifest = current_manifest(tmp_path / "lake")
    assert manifest.as_of == DEMO_AS_OF.isoformat()
    assert "exc.queue_items" in manifest.tables
    assert _run_lake_step(on, writable).startswith("lake unchanged at v000001")


def test_the_lake_folder_setting_is_relative_to_the_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONTROL_TOWER_LAKE_DIR", raising=False)
    assert load_settings(tmp_path).lake_dir is None
    monkeypatch.setenv("CONTROL_TOWER_LAKE_DIR", "lake")
    settings = load_settings(tmp_path)
    assert settings.lake_dir == (tmp_path / "lake").resolve()
    assert settings.with_home(tmp_path / "other").lake_dir == tmp_path / "other" / "lake"
    monkeypatch.setenv("CONTROL_TOWER_LAKE_DIR", str(tmp_path / "shared"))
    assert load_settings(tmp_path).lake_dir == tmp_path / "shared"


def test_lake_show_lists_the_current_versions_tables(published: Published, tmp_path: Path) -> None:
    show = ["--home", str(tmp_path), "lake", "show", "--lake-dir", str(published.lake)]
    result = CliRunner().invoke(main, [*show, "--format", "json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["version"] == published.report.version
    orders = next(t for t in shown["tables"] if t["table"] == "sales_order_lines")
    entry = current_manifest(published.lake).table("sales_order_lines")
    assert (orders["rows"], orders["files"]) == (entry.rows, len(entry.files))
    assert orders["partition_by"] == "entity,month"
    table = CliRunner().invoke(main, show)
    assert f"version {published.report.version}" in table.output


def test_lake_commands_say_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONTROL_TOWER_LAKE_DIR", raising=False)
    result = CliRunner().invoke(main, ["--home", str(tmp_path), "lake", "show"])
    assert result.exit_code != 0
    assert "set CONTROL_TOWER_LAKE_DIR" in result.output
    result = CliRunner().invoke(
        main, ["--home", str(tmp_path), "lake", "show", "--lake-dir", str(tmp_path / "lake")]
    )
    assert "no lake published at" in result.output


def test_lake_publish_publishes_the_warehouse(
    demo_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = private_copy(demo_settings, tmp_path / "home", warehouse=True)
    monkeypatch.setenv("CONTROL_TOWER_LAKE_DIR", "lake")
    args = ["--home", str(copy.home), "lake", "publish", "--as-of", DEMO_AS_OF.isoformat()]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("lake v000001: ")
    assert current_manifest(copy.home / "lake").as_of == DEMO_AS_OF.isoformat()
