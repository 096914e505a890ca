"""The queue's copy in the warehouse (`exc.queue_items`), for the exception_aging KPI and drill-downs.

The app database is the system of record; the warehouse holds a copy of every
item as it was when the copy was taken (`mirrored_at`, the same on every row),
which the published snapshot carries to the readers. A full copy replaces
every row. An incremental one copies only the items that changed since the
last copy: those a detection run changed without a version bump (sightings)
and those whose version differs from their copy (a person's action, a state
change, a new item); the rest only get the new `mirrored_at`.

`mirror_line_promises` copies the latest re-promise of each order line
(`exc_line_promises`) to `exc.line_promises`, where the ATP demand reads a
line's promise (`control_tower.promising.sql`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import duckdb
import polars as pl
from sqlalchemy import Connection, Text, cast, select

from control_tower.exceptions.store import (
    ITEM_CORE_COLUMNS,
    ExceptionItem,
    ExceptionStore,
    LinePromise,
    in_chunks,
)
from control_tower.settings import utc_now

ITEMS = ExceptionItem.__table__

# The columns of exc.queue_items (declared in control_tower/storage/schema.py) the mirror fills.
MIRROR_COLUMNS: tuple[str, ...] = (
    "id",
    "type",
    *ITEM_CORE_COLUMNS,
    "created_at",
    "event_at",
    "last_action_at",
    "sla_hours",
    "resolved_at",
    "item_id",
    "last_seen_at",
    "times_seen",
    "snoozed_until",
    "resolution_code",
    "value_at_risk",
    "detail",
    "version",
)


def mirror(
    con: duckdb.DuckDBPyConnection,
    store: ExceptionStore,
    *,
    at: datetime | None = None,
    changed: Collection[int] | None = None,
) -> int:
    """Bring `exc.queue_items` in line with every item of the app database, as it is at `at`
    (naive UTC, the product clock by default): what is open now for exception_aging.

    With `changed` (the ids a detection run changed without a version bump), only those
    and the items whose version differs from their copy are copied again; returns how
    many items were copied."""
    taken = at or utc_now()
    with store.engine.connect() as db:
        if changed is None:
            frame, gone = _frame(_rows(db, None)), None
        else:
            stale, gone = _stale(con, db, changed)
            frame = _frame(row for ids in in_chunks(sorted(stale)) for row in _rows(db, ids))
    cols = ", ".join(MIRROR_COLUMNS)
    with loading(con, "exc_mirror", frame):
        if gone is None:
            con.execute("DELETE FROM exc.queue_items")
        else:
            con.execute("DELETE FROM exc.queue_items WHERE id IN (SELECT id FROM exc_mirror)")
            for ids in in_chunks(gone):
                con.execute(
                    f"DELETE FROM exc.queue_items WHERE id IN ({', '.join('?' * len(ids))})", ids
                )
        con.execute(
            f"INSERT INTO exc.queue_items ({cols}, mirrored_at) SELECT {cols}, ? FROM exc_mirror",
            [taken],
        )
        if gone is not None:
            con.execute("UPDATE exc.queue_items SET mirrored_at = ?", [taken])
    return frame.height


@contextmanager
def loading(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> Iterator[None]:
    """`frame` registered as `name` for one transaction: committed when the block ends,
    rolled back when it raises. A result the connection's last caller left unread (a
    `fetchone()`) is finished first: DuckDB refuses to register a frame beside it."""
    con.complete()
    con.register(name, frame.to_arrow())
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            yield
        except Exception:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
    finally:
        con.unregister(name)


def _stale(
    con: duckdb.DuckDBPyConnection, db: Connection, changed: Collection[int]
) -> tuple[set[int], list[str]]:
    """The ids to copy again (changed, new, or of another version than their copy) and the
    copied ids no longer in the app database."""
    versions = pl.DataFrame(
        db.execute(select(ITEMS.c.id, ITEMS.c.version)).all(),
        schema={"id": pl.Int64, "version": pl.Int64},
        orient="row",
    )
    con.complete()  # DuckDB registers no frame beside an unread result
    con.register("exc_versions", versions.to_arrow())
    try:
        stale = {
            r[0]
            for r in con.execute(
                "SELECT v.id FROM exc_versions AS v LEFT JOIN exc.queue_items AS q "
                "ON q.id = CAST(v.id AS VARCHAR) "
                "WHERE q.id IS NULL OR q.version IS DISTINCT FROM v.version"
            ).fetchall()
        }
        gone = [
            r[0]
            for r in con.execute(
                "SELECT id FROM exc.queue_items "
                "WHERE id NOT IN (SELECT CAST(id AS VARCHAR) FROM exc_versions)"
            ).fetchall()
        ]
    finally:
        con.unregister("exc_versions")
    return stale | set(changed), gone


def _rows(db: Connection, ids: Sequence[int] | None) -> Iterator[Sequence[Any]]:
    """Items in mirror column order (detail as JSON text): all, or those of `ids`."""
    names = [c for c in MIRROR_COLUMNS if c != "detail"]
    query = select(
        *(ITEMS.c[c] for c in names), cast(ITEMS.c.detail, Text).label("detail")
    ).order_by(ITEMS.c.id)
    if ids is not None:
        query = query.where(ITEMS.c.id.in_(ids))
    for row in db.execute(query):
        # the SELECT puts detail last; the mirror's order has it before version
        *rest, version, detail = row
        yield (*rest, detail, version)


def _frame(rows: Iterator[Sequence[Any]]) -> pl.DataFrame:
    stamp = pl.Datetime("us")
    typed: dict[str, Any] = {"sla_hours": pl.Float64, "value_at_risk": pl.Float64}
    typed |= {"times_seen": pl.Int32, "version": pl.Int32}
    typed |= {c: stamp for c in MIRROR_COLUMNS if c.endswith(("_at", "_until"))}
    schema = {c: typed.get(c, pl.String) for c in MIRROR_COLUMNS}  # the rest is text
    return pl.DataFrame([(str(r[0]), *r[1:]) for r in rows], schema=schema, orient="row")


def mirror_line_promises(con: duckdb.DuckDBPyConnection, store: ExceptionStore) -> int:
    """Replace `exc.line_promises` with the latest re-promise of each order line (by recording
    time, then id); returns how many lines have one. Content that did not change leaves the
    table's fingerprint as it was, so order_at_risk runs again only after a re-promise."""
    latest: dict[tuple[str, int], tuple[Any, ...]] = {}
    query = select(
        LinePromise.order_id,
        LinePromise.line_no,
        LinePromise.promised_date,
        LinePromise.recorded_at,
    ).order_by(LinePromise.recorded_at, LinePromise.id)
    with store.engine.connect() as db:
        for row in db.execute(query):
            latest[(row[0], row[1])] = tuple(row)
    frame = pl.DataFrame(
        list(latest.values()),
        schema={
            "order_id": pl.String,
            "line_no": pl.Int32,
            "promised_date": pl.Date,
            "recorded_at": pl.Datetime("us"),
        },
        orient="row",
    )
    with loading(con, "exc_promises", frame):
        con.execute("DELETE FROM exc.line_promises")
        con.execute("INSERT INTO exc.line_promises SELECT * FROM exc_promises")
    return frame.height
