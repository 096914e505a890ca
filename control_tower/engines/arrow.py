"""Arrow results of an engine, in the warehouse's conventions."""

from __future__ import annotations

import pyarrow as pa


def naive_utc(table: pa.Table) -> pa.Table:
    """Time-zone-aware timestamp columns as naive UTC (the warehouse's TIMESTAMP).

    Spark returns its TIMESTAMP as instants; Arrow keeps them as UTC, so dropping the zone
    gives the UTC wall time without shifting it."""
    fields = []
    changed = False
    for f in table.schema:
        if pa.types.is_timestamp(f.type) and f.type.tz is not None:
            fields.append(pa.field(f.name, pa.timestamp(f.type.unit), f.nullable))
            changed = True
        else:
            fields.append(f)
    return table.cast(pa.schema(fields)) if changed else table
