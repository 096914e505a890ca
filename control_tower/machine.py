"""The machine a control tower runs on and the DuckDB resources derived from it.

Pure figures and arithmetic (no environment reading): `control_tower.settings` reads the
`CONTROL_TOWER_DUCKDB_*` variables and builds a `DuckDBResources` with these functions.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path


class SizeError(ValueError):
    """A size such as `4GB` or `25%` that cannot be read."""


GIB = 1024**3
MIB = 1024**2
# DuckDB's buffer memory by default: this share of physical RAM, at least MEMORY_FLOOR (or half
# the RAM of a smaller machine) and at most MEMORY_CEILING; the process keeps headroom beside it.
MEMORY_SHARE = 0.25
MEMORY_FLOOR = 1 * GIB
MEMORY_CEILING = 3 * GIB
# DuckDB's spill to disk by default: at most TEMP_CEILING, and at most this share of the disk
# space free when the process starts.
TEMP_SHARE = 0.5
TEMP_CEILING = 10 * GIB
# The least DuckDB is allowed: below these it fails on ordinary statements.
MIN_MEMORY = 128 * MIB
WEB_MEMORY = 512 * MIB  # a web worker's serving connection by default (one per worker process)
MIN_TEMP = 64 * MIB
MAX_THREADS = 256


@dataclass(frozen=True)
class DuckDBResources:
    """What every DuckDB connection of the product may use: buffer memory, threads, and a spill
    folder with a size cap (DuckDB's `memory_limit`, `threads`, `temp_directory`,
    `max_temp_directory_size`)."""

    memory_bytes: int
    threads: int
    temp_dir: Path
    temp_max_bytes: int

    def sql(self, temp_dir: Path) -> dict[str, str | int]:
        """The DuckDB settings, spilling into `temp_dir` (a folder of `temp_dir` per database
        instance: DuckDB names its spill files alike in every instance)."""
        return {
            "memory_limit": f"{self.memory_bytes // MIB}MiB",
            "threads": self.threads,
            "temp_directory": str(temp_dir),
            "max_temp_directory_size": f"{self.temp_max_bytes // MIB}MiB",
        }


@dataclass(frozen=True)
class Machine:
    """The figures the DuckDB defaults are derived from."""

    ram_bytes: int
    cpus: int
    free_disk_bytes: int

    @classmethod
    def of(cls, folder: Path) -> Machine:
        """This machine: its physical RAM, the CPUs this process may use, and the free space
        of the disk holding `folder` (or its nearest existing parent)."""
        page, pages = (os.sysconf(name) for name in ("SC_PAGE_SIZE", "SC_PHYS_PAGES"))
        ram = page * pages
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        existing = Path(folder)
        while not existing.exists() and existing.parent != existing:
            existing = existing.parent
        return cls(int(ram), max(int(cpus or 1), 1), shutil.disk_usage(existing).free)


def default_duckdb_resources(machine: Machine, home: Path) -> DuckDBResources:
    """The DuckDB resources of a data folder on a machine, with nothing configured: a share of
    the RAM between a floor and a ceiling, every usable CPU, a spill folder inside the data
    folder capped by a fixed size and a share of the free disk."""
    floor = min(MEMORY_FLOOR, machine.ram_bytes // 2)
    memory = min(max(int(machine.ram_bytes * MEMORY_SHARE), floor), MEMORY_CEILING)
    temp = min(TEMP_CEILING, int(machine.free_disk_bytes * TEMP_SHARE))
    return DuckDBResources(
        memory_bytes=max(memory, MIN_MEMORY),
        threads=min(machine.cpus, MAX_THREADS),
        temp_dir=home / "duckdb_tmp",
        temp_max_bytes=max(temp, MIN_TEMP),
    )


_SIZE_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb|kib|mib|gib|tib|%)$", re.IGNORECASE)
_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
_UNITS |= {"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_size(raw: str, *, of: int, what: str) -> int:
    """Bytes of a size such as `4GB`, `512MiB` or `25%` (a share of `of`); `what` names the
    setting in the error."""
    match = _SIZE_RE.match(raw.strip())
    if match is None:
        raise SizeError(
            f"{what}={raw!r} must be a size such as 4GB, 512MiB or 25% "
            "(units B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)"
        )
    number, unit = float(match.group(1)), match.group(2).lower()
    if unit == "%":
        if not 0 < number <= 100:
            raise SizeError(f"{what}={raw!r}: a share must be above 0% and at most 100%")
        return int(of * number / 100)
    return int(number * _UNITS[unit])
