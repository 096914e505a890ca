"""Definition diffs: a KPI's values under its previous recorded definition and its current one
(`diff_versions`), and the text changed between consecutive versions (`version_entries`)."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import duckdb

from control_tower.kpi.catalog import HistoryRecord, Kpi, SignOff, load_definition_text
from control_tower.kpi.governance import previous_record
from control_tower.kpi.query import compute


def diff_versions(
    cur: duckdb.DuckDBPyConnection,
    kpi: Kpi,
    history: Iterable[HistoryRecord],
    *,
    as_of: date,
    grain: str | None = None,
    by: Sequence[str] = (),
) -> dict[str, Any]:
    """Rows keyed by dimensions and period with value_previous, value_current and delta.

    Raises LookupError when the history holds no other definition of the KPI, or when the
    previous definition does not allow a dimension of `by`.
    """
    prev_rec = previous_record(list(history), kpi)
    if prev_rec is None:
        raise LookupError(f"KPI {kpi.name} has no previous recorded definition to compare with")
    previous = load_definition_text(prev_rec.definition, json.loads(prev_rec.model), name=kpi.name)
    missing = [d for d in by if d not in previous.dimensions]
    if missing:
        raise LookupError(
            f"KPI {kpi.name} v{previous.version} (the previous definition) cannot be grouped by "
            f"{', '.join(missing)}; it allows: {', '.join(previous.dimensions) or 'none'}"
        )
    keys = [*by, *(["period"] if grain else [])]
    old = compute(cur, previous, as_of=as_of, grain=grain, by=by)
    new = compute(cur, kpi, as_of=as_of, grain=grain, by=by)
    old_by_key = {tuple(r.get(k) for k in keys): r["value"] for r in old["rows"]}
    rows = []
    seen = set()
    for r in new["rows"]:
        key = tuple(r.get(k) for k in keys)
        seen.add(key)
        before = old_by_key.get(key)
        rows.append(_row(keys, key, before, r["value"]))
    for key, before in old_by_key.items():
        if key not in seen:
            rows.append(_row(keys, key, before, None))
    return {
        "kpi": kpi.name,
        "previous_version": previous.version,
        "previous_content": previous.content_hash[:12],
        "version": kpi.version,
        "content": kpi.content_hash[:12],
        "as_of": as_of.isoformat(),
        "freshness": new["freshness"],
        "rows": rows,
    }


def _row(keys: list[str], key: tuple[Any, ...], before: Any, after: Any) -> dict[str, Any]:
    delta = after - before if before is not None and after is not None else None
    return {
        **dict(zip(keys, key, strict=True)),
        "previous": before,
        "current": after,
        "delta": delta,
    }


@dataclass(frozen=True)
class VersionEntry:
    """One version of a KPI's history: when first recorded, who signed it off, and the unified
    diff of its texts (definition, then models) from the version before it."""

    version: int
    content_hash: str
    first_seen_at: datetime | None  # None: the current definition, not recorded yet
    status: str  # as recorded (what the definition said)
    signoff: SignOff | None
    diff: str  # "" for the first version
    current: bool
    previous_version: int | None = None


def _texts(definition: str, models: Mapping[str, str]) -> dict[str, str]:
    return {"definition": definition, **{f"models/{k}.yml": v for k, v in sorted(models.items())}}


def _record_models(record: HistoryRecord) -> dict[str, str]:
    try:
        models = json.loads(record.model)
    except (TypeError, ValueError):
        return {}
    return {str(k): str(v) for k, v in models.items()} if isinstance(models, dict) else {}


def text_diff(
    name: str, before: Mapping[str, str], after: Mapping[str, str], labels: tuple[str, str]
) -> str:
    """The unified diff of two versions' texts (the definition, then each model that differs)."""
    chunks: list[str] = []
    for key in dict.fromkeys([*before, *after]):
        old, new = before.get(key, ""), after.get(key, "")
        if old == new:
            continue
        path = f"{name}.yml" if key == "definition" else key
        chunks.extend(
            difflib.unified_diff(
                old.splitlines(keepends=True),
                new.splitlines(keepends=True),
                fromfile=f"{path} ({labels[0]})",
                tofile=f"{path} ({labels[1]})",
            )
        )
    return "".join(line if line.endswith("\n") else line + "\n" for line in chunks)


def version_entries(
    kpi: Kpi, history: Iterable[HistoryRecord], signoffs: Iterable[SignOff]
) -> list[VersionEntry]:
    """The KPI's versions, oldest first: each recorded one (`ops.kpi_versions`), then the
    current definition when it is not recorded yet, with its sign-off and its diff from the
    version before."""
    signed: dict[tuple[int, str], SignOff] = {}
    for s in sorted(signoffs, key=lambda s: s.signed_at, reverse=True):
        if s.kpi == kpi.name:
            signed[(s.version, s.content_hash)] = s  # the earliest wins
    rows: list[tuple[int, str, datetime | None, str, dict[str, str]]] = []
    seen: set[str] = set()
    for r in history:
        if r.name != kpi.name or r.content_hash in seen:
            continue
        seen.add(r.content_hash)
        rows.append(
            (
                r.version,
                r.content_hash,
                r.first_seen_at,
                r.status,
                _texts(r.definition, _record_models(r)),
            )
        )
    if kpi.content_hash not in seen:
        models = {m.name: m.text for m in kpi.chain}
        rows.append(
            (
                kpi.version,
                kpi.content_hash,
                None,
                kpi.declared_status or kpi.status,
                _texts(kpi.text, models),
            )
        )
    out: list[VersionEntry] = []
    previous: tuple[int, dict[str, str]] | None = None
    for version, digest, seen_at, status, texts in rows:
        diff = ""
        if previous is not None:
            labels = (f"v{previous[0]}", f"v{version}")
            diff = text_diff(kpi.name, previous[1], texts, labels)
        out.append(
            VersionEntry(
                version,
                digest,
                seen_at,
                status,
                signed.get((version, digest)),
                diff,
                digest == kpi.content_hash,
                previous[0] if previous else None,
            )
        )
        previous = (version, texts)
    return out
