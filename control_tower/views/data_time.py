"""When the data behind a view is from: its sources' newest extract, their last load, and which
of them are stale.

Dates follow the data, not the wall clock. A date range ends by default at the
data's as-of day (`range_end`): the day of the newest extract across every
source (its newest data time, `ops.table_freshness.newest_data_at`, never
later than the product clock: planned times in the future do not count), so
a delivery 13 days old shows its own last 6 weeks, not 13 empty days. A KPI
tile says separately when its data is as of (the oldest of the newest
extracts of the tables its model reads, master data aside: an item master
unchanged since spring does not make today's order lines old) and when it
was loaded, and names
every source system it reads whose freshness SLA has lapsed (the data-health
page's rule, `control_tower.ops.freshness.freshness_status`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

import duckdb

from control_tower.contracts import TABLES, ColumnType
from control_tower.ops.health import FreshnessRow, source_freshness

# Master data: tables whose rows carry no time of their own but their version stamp (items,
# locations, customers). Their newest change dates a description, not the events a KPI counts.
MASTER_TABLES = frozenset(
    t.name
    for t in TABLES.values()
    if not any(
        c.type in (ColumnType.TIMESTAMP, ColumnType.DATE) and c.name != t.cursor for c in t.columns
    )
)


@dataclass(frozen=True)
class DataTime:
    """When the data behind a figure is from (naive UTC), and its stale sources."""

    data_as_of: datetime | None  # the newest extract (of the oldest event table read)
    loaded_at: datetime | None  # the last load (of the least recently loaded table read)
    stale: tuple[str, ...]  # "system (table, table)" of every stale source read


def _extract_time(row: FreshnessRow, now: datetime) -> datetime | None:
    newest = row["newest_data_at"]
    if newest is None or not row["row_count"]:
        return None
    return min(newest, now)


def _freshness(cur: duckdb.DuckDBPyConnection, now: datetime) -> list[FreshnessRow]:
    try:
        return source_freshness(cur, now)
    except duckdb.Error:
        return []


def data_as_of(cur: duckdb.DuckDBPyConnection, now: datetime) -> datetime | None:
    """The newest extract across every source (naive UTC, not after `now`); None before any."""
    times = [t for r in _freshness(cur, now) if (t := _extract_time(r, now)) is not None]
    return max(times, default=None)


def range_end(cur: duckdb.DuckDBPyConnection, latest: date, now: datetime) -> date:
    """The default end of a date range: the data's as-of day, never after `latest` (the day
    the KPI values were computed as of); `latest` when no source says how new it is."""
    newest = data_as_of(cur, now)
    return min(latest, newest.date()) if newest is not None else latest


def data_time(cur: duckdb.DuckDBPyConnection, tables: Iterable[str], now: datetime) -> DataTime:
    """When the data of these landed tables is from, when loaded, and which sources are stale."""
    wanted = set(tables)
    rows = [r for r in _freshness(cur, now) if r["table_name"] in wanted]
    events = [r for r in rows if r["table_name"] not in MASTER_TABLES] or rows
    extracts = [t for r in events if (t := _extract_time(r, now)) is not None]
    loads = [r["last_loaded_at"] for r in rows if r["last_loaded_at"] is not None]
    stale: dict[str, list[str]] = {}
    for r in rows:
        if r["status"] == "stale":
            stale.setdefault(r["system"], []).append(r["table_name"])
    return DataTime(
        data_as_of=min(extracts, default=None),
        loaded_at=min(loads, default=None),
        stale=tuple(f"{system} ({', '.join(sorted(t))})" for system, t in sorted(stale.items())),
    )
