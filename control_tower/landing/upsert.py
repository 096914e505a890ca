"""Keyed upsert of a batch's good rows into its landed table.

Rules (docs/extract-contract.md, "The upsert rule"): the newest `updated_at` wins, compared
as an instant; on an exact tie the later-loaded file wins; an older
re-delivery never overwrites a newer row. Tables without `updated_at` keep
the last loaded version. For order lines, the first promised date is frozen
from the first version ever loaded, and promise changes are counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from control_tower.contracts import Table
from control_tower.storage.schema import landed_columns


@dataclass
class UpsertCounts:
    """What the upsert did with the batch's good rows."""

    inserted: int = 0
    updated: int = 0
    stale: int = 0  # older than the row already landed: not applied

    @property
    def loaded(self) -> int:
        """Rows written (new or replacing an older version)."""
        return self.inserted + self.updated


def _id(name: str) -> str:
    return '"' + name + '"'


class RepeatedKeyError(Exception):
    """A key repeats among the rows to upsert: they belong in quarantine, not in the table."""


def repeated_key(con: duckdb.DuckDBPyConnection, table: Table, relation: str) -> bool:
    """Whether a (non-null) key of `table` appears more than once in `relation`."""
    keys = ", ".join(_id(k) for k in table.key)
    key_not_null = " AND ".join(f"{_id(k)} IS NOT NULL" for k in table.key)
    found = con.execute(
        f"SELECT EXISTS (SELECT 1 FROM {relation} WHERE {key_not_null} GROUP BY {keys} "
        "HAVING count(*) > 1)"
    ).fetchone()
    return bool(found and found[0])


def upsert(
    con: duckdb.DuckDBPyConnection, table: Table, batch_id: int, *, unique_keys: bool = False
) -> UpsertCounts:
    """Apply the temp relation `good` (harmonised rows) to main.<table>, in the caller's transaction.

    `good` is read once (it may be a view straight over a file). With
    `unique_keys`, a key that repeats in `good` raises RepeatedKeyError
    instead, possibly after writing: the caller rolls its transaction back.
    """
    target = f"main.{table.name}"
    names = [n for n, _ in landed_columns(table)]
    keys = table.key
    on = " AND ".join(f"t.{_id(k)} = s.{_id(k)}" for k in keys)
    is_orders = table.name == "sales_order_lines"

    target_empty = con.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {target})").fetchone()[0]  # type: ignore[index]
    if target_empty:
        # First load of the table: every row is new, no join needed.
        con.execute(
            "CREATE OR REPLACE TEMP VIEW decided AS SELECT s.*, 'insert' AS _action, "
            "NULL::DATE AS _old_first, NULL::DATE AS _old_promised, NULL::INTEGER AS _old_changes "
            "FROM good s"
        )
    else:
        newer = f"s.{_id(table.cursor)} >= t.{_id(table.cursor)}" if table.cursor else "true"
        action = (
            f"CASE WHEN t.{_id(keys[0])} IS NULL THEN 'insert' WHEN {newer} THEN 'update' "
            "ELSE 'stale' END"
        )
        old_cols = (
            "t.first_promised_date AS _old_first, t.promised_date AS _old_promised, "
            "t.promise_changes AS _old_changes"
            if is_orders
            else "NULL::DATE AS _old_first, NULL::DATE AS _old_promised, "
            "NULL::INTEGER AS _old_changes"
        )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE decided AS SELECT s.*, {action} AS _action, {old_cols} "
            f"FROM good s LEFT JOIN {target} t ON {on}"
        )
        if unique_keys and repeated_key(con, table, "decided"):
            con.execute("DROP TABLE decided")
            raise RepeatedKeyError(f"a key of {table.name} repeats in the file")
        counts = con.execute(
            "SELECT count(*) FILTER (WHERE _action = 'insert'), "
            "count(*) FILTER (WHERE _action = 'update'), "
            "count(*) FILTER (WHERE _action = 'stale') FROM decided"
        ).fetchone()
        assert counts is not None
        result = UpsertCounts(*(int(c) for c in counts))
        if result.updated:
            key_match = " AND ".join(f"{target}.{_id(k)} = d.{_id(k)}" for k in keys)
            con.execute(
                f"DELETE FROM {target} USING decided d WHERE d._action = 'update' AND {key_match}"
            )

    select = []
    for name in names:
        if name == "_batch_id":
            select.append(f"{int(batch_id)}")
        elif name == "_loaded_at":
            select.append("now()::TIMESTAMP")
        elif is_orders and name == "first_promised_date":
            select.append("coalesce(_old_first, first_promised_date, promised_date)")
        elif is_orders and name == "promise_changes":
            select.append(
                "CASE WHEN _old_promised IS NULL "
                "THEN CAST(coalesce(first_promised_date, promised_date) <> promised_date AS INTEGER) "
                "ELSE coalesce(_old_changes, 0) + CAST(promised_date <> _old_promised AS INTEGER) END"
            )
        else:
            select.append(_id(name))
    insert = (
        f"INSERT INTO {target} ({', '.join(_id(n) for n in names)}) "
        f"SELECT {', '.join(select)} FROM decided WHERE _action <> 'stale'"
    )
    if target_empty:
        # The insert's own row count: counting `good` first would read it twice.
        inserted = con.execute(insert).fetchone()
        result = UpsertCounts(inserted=int(inserted[0]) if inserted else 0)
        con.execute("DROP VIEW decided")
        if unique_keys and repeated_key(con, table, target):
            raise RepeatedKeyError(f"a key of {table.name} repeats in the file")
        return result
    if result.loaded:
        con.execute(insert)
    con.execute("DROP TABLE decided")
    return result
