"""Definition diff: a KPI's values under its previous recorded definition and its current one."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

import duckdb

from control_tower.kpi.catalog import HistoryRecord, Kpi, load_definition_text
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
