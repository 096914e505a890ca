"""KPI governance: content hashes, the version history in `ops.kpi_versions`, and its rules.

A definition's content hash covers the definition and the model it measures
(canonicalised: comments and layout do not count), so changing a model's
SQL changes every KPI built on it. It leaves out the keys that link a KPI to
the exception queues (`exception_types`, `exceptions_past_sla`, and the
retired `exception_queue`): they say where to look for the misses, not what
the number is, so listing a newly detected type needs no new version. The
history keeps each definition's text with its hash, so a previous version
can be recompiled for `kpi diff`; its hash is read back from those texts
with the same rule, so a record made before a key was left out still
matches the definition it recorded.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import yaml

from control_tower.kpi.checks import Problem
from control_tower.kpi.definitions import LINKAGE_KEYS
from control_tower.settings import utc_now

if TYPE_CHECKING:
    from control_tower.kpi.definitions import Kpi


@dataclass(frozen=True)
class HistoryRecord:
    """One recorded (name, version, content hash) of the governance history."""

    name: str
    version: int
    content_hash: str
    status: str
    owner: str
    definition: str
    model: str
    first_seen_at: Any


@lru_cache(maxsize=1024)
def governed_hash(definition: str, *models: str) -> str:
    """sha256 of the canonical content of a definition's text and its models' texts (dependencies
    first), without the keys linking it to exception queues, nor how a model is refreshed by
    key (`incremental`: it changes how fast its rows are rebuilt, never what they are)."""
    kpi = yaml.safe_load(definition)
    if isinstance(kpi, dict):
        kpi = {k: v for k, v in kpi.items() if k not in LINKAGE_KEYS}
    parsed = [yaml.safe_load(m) for m in models]
    parsed = [
        {k: v for k, v in m.items() if k != "incremental"} if isinstance(m, dict) else m
        for m in parsed
    ]
    canonical = json.dumps(
        {"kpi": kpi, "models": parsed},
        sort_keys=True,
        default=str,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def content_hash(kpi: Kpi) -> str:
    """sha256 of the canonical content of a KPI definition and its model."""
    return governed_hash(kpi.text, *(m.text for m in kpi.chain))


def check_history(
    kpis: Iterable[Kpi],
    history: Iterable[HistoryRecord],
    root: Path,
    *,
    signed: Collection[tuple[str, int, str]] = (),
) -> list[Problem]:
    """Problems of KPIs whose content changed without the version the history requires.

    A version is certified when its definition said so when recorded, or says so now, or when
    it was signed off (`signed`: the (name, version, content hash) of every sign-off): its
    content cannot change under the same version number.
    """
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
        elif same and (
            (kpi.declared_status or kpi.status) == "certified"
            or any(
                r.status == "certified" or (r.name, r.version, r.content_hash) in signed
                for r in same
            )
        ):
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
    return [_rehashed(HistoryRecord(*row)) for row in rows]


def _rehashed(record: HistoryRecord) -> HistoryRecord:
    """A record with the hash of its texts by today's rule (see the module docstring)."""
    try:
        models = json.loads(record.model)
        digest = governed_hash(record.definition, *models.values())
    except (ValueError, TypeError, AttributeError, yaml.YAMLError):
        return record  # texts that no longer parse keep the hash they were recorded with
    return replace(record, content_hash=digest)


def record_versions(con: duckdb.DuckDBPyConnection, kpis: Iterable[Kpi]) -> int:
    """Record every definition whose content hash is not in the history yet; returns how many."""
    now = utc_now()
    known = {(r.name, r.content_hash) for r in read_history(con)}
    new = [k for k in kpis if (k.name, k.content_hash) not in known]
    for kpi in new:
        con.execute(
            "INSERT INTO ops.kpi_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                kpi.name,
                kpi.version,
                kpi.content_hash,
                kpi.declared_status or kpi.status,  # as the definition says
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
