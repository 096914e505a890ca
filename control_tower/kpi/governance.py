"""KPI governance: content hashes, the version history in `ops.kpi_versions`, and its rules.

A definition's content hash covers the definition and the model it measures
(canonicalised: comments and layout do not count), so changing a model's
SQL changes every KPI built on it. The history keeps each definition's text
with its hash, so a previous version can be recompiled for `kpi diff`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import yaml

from control_tower.kpi.catalog import HistoryRecord, Problem
from control_tower.settings import utc_now

if TYPE_CHECKING:
    from control_tower.kpi.catalog import Kpi


def content_hash(kpi: Kpi) -> str:
    """sha256 of the canonical content of a KPI definition and its model."""
    canonical = json.dumps(
        {"kpi": yaml.safe_load(kpi.text), "models": [yaml.safe_load(m.text) for m in kpi.chain]},
        sort_keys=True,
        default=str,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_history(
    kpis: Iterable[Kpi], history: Iterable[HistoryRecord], root: Path
) -> list[Problem]:
    """Problems of KPIs whose content changed without the version the history requires."""
    by_name: dict[str, list[HistoryRecord]] = {}
    for rec in history:
        by_name.setdefault(rec.name, []).append(rec)
    problems = []
    for kpi in kpis:
        records = by_name.get(kpi.name, [])
        if not records or any(r.content_hash == kpi.content_hash for r in records):
            continue
        file = (
            str(kpi.path.relative_to(root.parent))
            if kpi.path.is_relative_to(root.parent)
            else str(kpi.path)
        )
        newest = max(r.version for r in records)
        same = [r for r in records if r.version == kpi.version]
        if kpi.version < newest:
            problems.append(
                Problem(
                    file, "version", f"version {kpi.version} is below the recorded version {newest}"
                )
            )
        elif same and (kpi.status == "certified" or any(r.status == "certified" for r in same)):
            problems.append(
                Problem(
                    file,
                    "version",
                    f"certified definition changed (content {kpi.content_hash[:12]}, recorded "
                    f"{same[-1].content_hash[:12]}) but its version is still {kpi.version}: "
                    f"raise it to {newest + 1}",
                )
            )
    return problems


def read_history(con: duckdb.DuckDBPyConnection, name: str | None = None) -> list[HistoryRecord]:
    """The recorded history (of one KPI, or all), oldest first; empty before it was first recorded."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_schema = 'ops' AND table_name = 'kpi_versions'"
    ).fetchone()
    if not exists or not exists[0]:
        return []
    where, params = ("WHERE name = ?", [name]) if name else ("", [])
    rows = con.execute(
        "SELECT name, version, content_hash, status, owner, definition, model, first_seen_at "
        f"FROM ops.kpi_versions {where} ORDER BY name, first_seen_at, version",
        params,
    ).fetchall()
    return [HistoryRecord(*row) for row in rows]


def record_versions(con: duckdb.DuckDBPyConnection, kpis: Iterable[Kpi]) -> int:
    """Record every definition whose content hash is not in the history yet; returns how many."""
    now = utc_now()
    known = {
        (r[0], r[1])
        for r in con.execute("SELECT name, content_hash FROM ops.kpi_versions").fetchall()
    }
    new = [k for k in kpis if (k.name, k.content_hash) not in known]
    for kpi in new:
        con.execute(
            "INSERT INTO ops.kpi_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                kpi.name,
                kpi.version,
                kpi.content_hash,
                kpi.status,
                kpi.owner,
                kpi.text,
                json.dumps({m.name: m.text for m in kpi.chain}),
                now,
            ],
        )
    return len(new)


def previous_record(history: Iterable[HistoryRecord], kpi: Kpi) -> HistoryRecord | None:
    """The newest recorded definition of `kpi` other than its current content."""
    older = [r for r in history if r.name == kpi.name and r.content_hash != kpi.content_hash]
    return older[-1] if older else None
