"""DuckDB memory, threads and spill folder: derived from the machine, configurable, refused when
unusable, and set on every connection the product opens (writer and serving readers)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from control_tower.settings import (
    GIB,
    MIB,
    Machine,
    SettingsError,
    default_duckdb_resources,
    load_settings,
    parse_size,
)
from control_tower.storage import ServingStore, connect_writer, publish_snapshot
from control_tower.storage.engine import spill_folder, sweep_spill_folders

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ("memory_limit", "threads", "temp_directory", "max_temp_directory_size")
VARIABLES = ("DUCKDB_MEMORY", "DUCKDB_THREADS", "DUCKDB_TEMP_DIR", "DUCKDB_TEMP_MAX")


@pytest.fixture(autouse=True)
def _no_duckdb_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(f"CONTROL_TOWER_{name}", raising=False)


def _current(con: object) -> dict[str, object]:
    sql = ", ".join(f"current_setting('{s}')" for s in SETTINGS)
    return dict(zip(SETTINGS, con.execute(f"SELECT {sql}").fetchone(), strict=True))  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("ram_gib", "cpus", "free_gib", "memory", "temp"),
    [
        (24, 2, 100, 3 * GIB, 10 * GIB),  # ceilings: 6 GiB of RAM share, 50 GiB of disk share
        (8, 4, 12, 2 * GIB, 6 * GIB),  # shares: a quarter of the RAM, half the free disk
        (3, 1, 40, 1 * GIB, 10 * GIB),  # floor: a quarter of 3 GiB is under 1 GiB
        (1, 1, 1, 512 * MIB, 512 * MIB),  # a small machine: half its RAM at most
    ],
)
def test_defaults_are_derived_from_the_machine(
    ram_gib: int, cpus: int, free_gib: int, memory: int, temp: int
) -> None:
    home = Path("/data/tower")
    machine = Machine(ram_gib * GIB, cpus, free_gib * GIB)
    resources = default_duckdb_resources(machine, home)
    assert resources.memory_bytes == memory
    assert resources.threads == cpus
    assert resources.temp_max_bytes == temp
    assert resources.temp_dir == home / "duckdb_tmp"
    assert default_duckdb_resources(machine, home) == resources


def test_sizes_read_units_and_shares() -> None:
    assert parse_size("4GB", of=0, what="X") == 4 * 10**9
    assert parse_size("512 MiB", of=0, what="X") == 512 * MIB
    assert parse_size("25%", of=8 * GIB, what="X") == 2 * GIB
    assert parse_size("1.5gib", of=0, what="X") == int(1.5 * GIB)


def test_configured_resources_reach_the_writer_and_the_serving_readers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTROL_TOWER_DUCKDB_MEMORY", "300MiB")
    monkeypatch.setenv("CONTROL_TOWER_DUCKDB_THREADS", "1")
    monkeypatch.setenv("CONTROL_TOWER_DUCKDB_TEMP_DIR", "spill")
    monkeypatch.setenv("CONTROL_TOWER_DUCKDB_TEMP_MAX", "200MiB")
    settings = load_settings(tmp_path)
    assert settings.duckdb.temp_dir == tmp_path / "spill"
    con = connect_writer(settings.warehouse_path, settings.duckdb)
    writer = _current(con)
    con.execute("CHECKPOINT")
    con.close()
    assert writer == {
        "memory_limit": "300.0 MiB",
        "threads": 1,
        "temp_directory": str(spill_folder(settings.duckdb, settings.warehouse_path)),
        "max_temp_directory_size": "200.0 MiB",
    }
    snapshot = publish_snapshot(settings.warehouse_path, settings.serving_dir)
    store = ServingStore(settings.serving_dir, settings.duckdb)
    with store.cursor() as cur:
        reader = _current(cur)
    store.close()
    assert reader == {**writer, "temp_directory": str(spill_folder(settings.duckdb, snapshot))}
    assert Path(str(reader["temp_directory"])).parent == tmp_path / "spill"


def test_defaults_reach_a_connection_when_nothing_is_configured(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    con = connect_writer(settings.warehouse_path, settings.duckdb)
    found = _current(con)
    con.close()
    expected = default_duckdb_resources(Machine.of(tmp_path), tmp_path)
    assert settings.duckdb == expected
    same = duckdb.connect()
    for name, value in expected.sql(spill_folder(expected, settings.warehouse_path)).items():
        same.execute(f"SET {name} = ?", [value])
    assert found == _current(same)
    assert Path(str(found["temp_directory"])).parent == tmp_path / "duckdb_tmp"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DUCKDB_MEMORY", "lots", r"DUCKDB_MEMORY='lots' must be a size such as 4GB"),
        ("DUCKDB_MEMORY", "10MB", r"DUCKDB_MEMORY='10MB' is 10000000 bytes: DuckDB needs"),
        ("DUCKDB_MEMORY", "0%", r"DUCKDB_MEMORY='0%': a share must be above 0%"),
        ("DUCKDB_THREADS", "two", r"DUCKDB_THREADS='two' must be a whole number"),
        ("DUCKDB_THREADS", "0", r"DUCKDB_THREADS='0' is 0: DuckDB needs at least 1"),
        ("DUCKDB_THREADS", "5000", r"DUCKDB_THREADS=5000 is more than 256"),
        ("DUCKDB_TEMP_MAX", "150%", r"DUCKDB_TEMP_MAX='150%': a share must be above 0%"),
        ("DUCKDB_TEMP_MAX", "1MB", r"DUCKDB_TEMP_MAX='1MB' is 1000000 bytes: DuckDB needs"),
    ],
)
def test_unusable_values_are_refused_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(f"CONTROL_TOWER_{name}", value)
    with pytest.raises(SettingsError, match="CONTROL_TOWER_" + message):
        load_settings(tmp_path)


def test_spill_folders_of_dead_processes_are_removed(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead = tmp_path / f"warehouse-{int(done.stdout)}"
    alive = tmp_path / f"snapshot-00000001-{os.getpid()}"
    for folder in (dead, alive):
        folder.mkdir()
        (folder / "duckdb_temp_storage-0.tmp").write_bytes(b"x")
    assert sweep_spill_folders(tmp_path) == [dead]
    assert alive.is_dir()
    assert not dead.exists()


def test_every_duckdb_connection_of_the_product_goes_through_the_engine() -> None:
    opened = []
    for folder in ("control_tower", "pipelines"):
        for path in (ROOT / folder).rglob("*.py"):
            if "duckdb.connect(" in path.read_text() and path.name != "engine.py":
                opened.append(str(path.relative_to(ROOT)))
    assert opened == []
