"""The one way the product opens a DuckDB database: `connect`.

Every connection, the writer's and each serving reader's, gets the
installation's memory limit, thread count and a size-capped spill folder
inside the data folder (`Settings.duckdb`). Without them DuckDB takes 80% of
the RAM and spills without bound to wherever the process started, which on
a large warehouse fills the disk.

DuckDB names its spill files alike in every database instance and deletes
its spill folder when the instance closes, so each instance spills into its
own sub-folder `<database>-<pid>`; sub-folders left by processes that died
are removed at the next connect.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb

from control_tower.machine import DuckDBResources, Machine, default_duckdb_resources
from control_tower.settings import private_dir


def spill_folder(resources: DuckDBResources, database: Path) -> Path:
    """The spill folder of `database` in this process."""
    return resources.temp_dir / f"{database.stem}-{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another account's process: alive
        return True
    return True


def sweep_spill_folders(temp_dir: Path) -> list[Path]:
    """Remove the spill folders of processes that no longer run; the folders removed."""
    removed = []
    for folder in temp_dir.glob("*-*"):
        pid = folder.name.rsplit("-", 1)[1]
        if folder.is_dir() and pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def connect(
    path: Path, resources: DuckDBResources | None = None, *, read_only: bool = False
) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB database `path` with `resources` (None: the machine defaults for the
    folder holding it). Raises duckdb.Error as `duckdb.connect` does."""
    path = Path(path)
    if resources is None:
        resources = default_duckdb_resources(Machine.of(path.parent), path.parent)
    private_dir(resources.temp_dir)
    sweep_spill_folders(resources.temp_dir)
    con = duckdb.connect(str(path), read_only=read_only)
    try:
        for name, value in resources.sql(spill_folder(resources, path)).items():
            con.execute(f"SET {name} = ?", [value])
    except BaseException:
        con.close()
        raise
    return con


def scratch() -> duckdb.DuckDBPyConnection:
    """An empty in-memory DuckDB database for work on schemas, never on data (it gets no
    spill folder: a query that needs to spill fails instead of writing anywhere)."""
    con = duckdb.connect()
    con.execute("SET temp_directory = ''")
    return con
