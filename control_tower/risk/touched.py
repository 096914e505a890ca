"""What a delta touched, for the risk scores: the item-locations and open order lines to rescore.

A full refresh scores every item-location and every open order line. A delta rescores only
the keys whose features the run's batches could have changed, found two ways:

- rows of a keyed input name what they touch: an inventory snapshot its item-location, an
  item or a location every key of it, a customer its open lines, an order line or a
  shipment its line (the key of these rows never changes, so the new row names it);
- rows whose grouping can move on an update (an order line to another item, location or
  day; a purchase order line to another item-location; a receipt to another PO line) are
  found by fingerprints: per group of keys (an item at the scoring day, an item-location, a
  supplier, a location, a customer) the sum of a hash of what its features read. They are
  stored with the scores (`risk.score_inputs`); on a delta the fingerprints of the tables
  it loaded are recomputed, and a group whose fingerprint differs has changed: the group a
  row left as well as the one it joined. The late-order model's location and customer
  features (late-line shares, backlog, late waves, carriers on time) are fingerprinted by
  their values, computed once for the fingerprint and the scores.

Everything is rescored when the refresh is full, the model or the as-of day is not the one
the stored scores were made with (a new or retrained model, a model file replaced), or a
location's latest snapshot day moved (every window of its item-locations moves with it).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field

import duckdb
import polars as pl

from control_tower.risk.frames import registered
from control_tower.storage.changes import Changes

STATE = "risk.score_inputs"
_NOW = "risk_fingerprints_now"  # temp table: this run's fingerprints, stored with the scores
_STAMP = "scored"  # the part that records the model, model file, day and horizon scored with


@dataclass(frozen=True)
class Fingerprint:
    """Per group of keys (k1, k2), a HUGEINT fingerprint of what its features read (`sql`
    selects k1, k2, fp); `match` relates a changed group `c` to a key `k`."""

    name: str
    tables: frozenset[str]
    sql: str
    match: str


@dataclass(frozen=True)
class Keyed:
    """Rows written to `table` name keys directly: `sql` selects the keys, `$rows` being the
    condition on `x` for this run's rows (it may join the current keys `keys AS k`)."""

    table: str
    sql: str


@dataclass(frozen=True)
class Scope:
    """How a model's scores depend on the landed tables."""

    model: str
    key: tuple[str, ...]  # the score table's key columns
    keys_sql: str  # every current key with the columns the matches read
    fingerprints: tuple[Fingerprint, ...]
    keyed: tuple[Keyed, ...]
    moves_everything: frozenset[str] = frozenset()  # a change in these parts rescores all

    @property
    def tables(self) -> frozenset[str]:
        """Every landed table the model's features read."""
        return frozenset(
            [t for f in self.fingerprints for t in f.tables] + [k.table for k in self.keyed]
        )


def _hash_sum(columns: str) -> str:
    return f"sum(hash({columns}))"


STOCKOUT_SCOPE = Scope(
    model="stockout",
    key=("location_id", "item_id"),
    keys_sql="""
        SELECT s.location_id, s.item_id, CAST(p.t AS VARCHAR) AS t, i.supplier_id
        FROM inventory_snapshots AS s
        JOIN risk_points AS p ON p.location_id = s.location_id AND p.t = s.snapshot_date
        LEFT JOIN items AS i ON i.item_id = s.item_id""",
    fingerprints=(
        Fingerprint(
            "points",
            frozenset({"inventory_snapshots"}),
            "SELECT location_id AS k1, CAST(t AS VARCHAR) AS k2, 0 AS fp FROM risk_points",
            "FALSE",
        ),
        # demand, line sizes and the item's bulk share read the item's lines of 90 days; the
        # booked backlog reads their status and promise too
        Fingerprint(
            "order_lines",
            frozenset({"sales_order_lines"}),
            f"""SELECT CAST(p.t AS VARCHAR) AS k1, l.item_id AS k2,
                {_hash_sum("l.order_id, l.line_no, l.location_id, l.order_ts_local_date, l.ordered_qty, l.status, l.first_promised_date")} AS fp
            FROM (SELECT DISTINCT t FROM risk_points) AS p
            JOIN sales_order_lines AS l
                ON l.order_ts_local_date > p.t - 90 AND l.order_ts_local_date <= p.t
            GROUP BY ALL""",
            "c.k1 = k.t AND c.k2 = k.item_id",
        ),
        # inbound: the item-location's purchase order lines and what was received against them
        Fingerprint(
            "inbound",
            frozenset({"purchase_order_lines", "receipts"}),
            f"""SELECT l.location_id AS k1, l.item_id AS k2,
                {_hash_sum("l.po_id, l.line_no, l.ordered_qty, l.order_date, l.expected_date, l.status")}
                    + coalesce(sum(r.fp), 0) AS fp
            FROM purchase_order_lines AS l
            LEFT JOIN (
                SELECT po_id, po_line_no,
                    {_hash_sum("receipt_id, line_no, received_qty, arrived_ts_local_date")} AS fp
                FROM receipts GROUP BY ALL
            ) AS r ON r.po_id = l.po_id AND r.po_line_no = l.line_no
            GROUP BY ALL""",
            "c.k1 = k.location_id AND c.k2 = k.item_id",
        ),
        # the supplier's receipts of 90 days against their expected dates
        Fingerprint(
            "suppliers",
            frozenset({"purchase_order_lines", "receipts"}),
            f"""SELECT CAST(p.t AS VARCHAR) AS k1, l.supplier_id AS k2,
                {_hash_sum("r.receipt_id, r.line_no, r.arrived_ts_local_date, l.expected_date")} AS fp
            FROM (SELECT DISTINCT t FROM risk_points) AS p
            JOIN receipts AS r
                ON r.arrived_ts_local_date > p.t - 90 AND r.arrived_ts_local_date <= p.t
            JOIN purchase_order_lines AS l ON l.po_id = r.po_id AND l.line_no = r.po_line_no
            GROUP BY ALL""",
            "c.k1 = k.t AND c.k2 = k.supplier_id",
        ),
    ),
    keyed=(
        Keyed(
            "inventory_snapshots",
            "SELECT x.location_id, x.item_id FROM inventory_snapshots AS x WHERE $rows",
        ),
        # what was shipped of the booked lines (the backlog not yet allocated)
        Keyed("shipments", "SELECT x.location_id, x.item_id FROM shipments AS x WHERE $rows"),
        Keyed(
            "items",
            "SELECT k.location_id, k.item_id FROM keys AS k "
            "SEMI JOIN items AS x ON x.item_id = k.item_id AND $rows",
        ),
        Keyed(
            "locations",
            "SELECT k.location_id, k.item_id FROM keys AS k "
            "SEMI JOIN locations AS x ON x.location_id = k.location_id AND $rows",
        ),
    ),
    moves_everything=frozenset({"points"}),
)

_GROUP_TABLES = frozenset({"sales_order_lines", "shipments", "freight_shipments", "waves"})

LATE_SCOPE = Scope(
    model="late_order",
    key=("order_id", "line_no"),
    keys_sql="""
        SELECT order_id, line_no, location_id, item_id, customer_id FROM sales_order_lines
        WHERE order_ts_local_date <= DATE '$t' AND first_promised_date > DATE '$t'
          AND status <> 'cancelled'""",
    fingerprints=(
        # the daily demand of the line's item-location: its lines of 28 days
        Fingerprint(
            "demand",
            frozenset({"sales_order_lines"}),
            f"""SELECT location_id AS k1, item_id AS k2,
                {_hash_sum("order_id, line_no, order_ts_local_date, ordered_qty")} AS fp
            FROM sales_order_lines
            WHERE order_ts_local_date > DATE '$t' - 28 AND order_ts_local_date <= DATE '$t'
            GROUP BY ALL""",
            "c.k1 = k.location_id AND c.k2 = k.item_id",
        ),
        Fingerprint(
            "locations",
            _GROUP_TABLES,
            "SELECT location_id AS k1, '' AS k2, "
            "hash(location_late_rate_28, backlog_days, wave_late_rate_7) AS fp "
            "FROM risk_groups WHERE location_id IS NOT NULL",
            "c.k1 = k.location_id",
        ),
        Fingerprint(
            "customers",
            _GROUP_TABLES,
            "SELECT customer_id AS k1, '' AS k2, "
            "hash(customer_late_rate_90, customer_lines_90, carrier_on_time_90) AS fp "
            "FROM risk_groups WHERE customer_id IS NOT NULL",
            "c.k1 = k.customer_id",
        ),
    ),
    keyed=(
        Keyed(
            "sales_order_lines",
            "SELECT x.order_id, x.line_no FROM sales_order_lines AS x WHERE $rows",
        ),
        Keyed("shipments", "SELECT x.order_id, x.line_no FROM shipments AS x WHERE $rows"),
        Keyed(
            "inventory_snapshots",
            "SELECT k.order_id, k.line_no FROM keys AS k SEMI JOIN inventory_snapshots AS x "
            "ON x.location_id = k.location_id AND x.item_id = k.item_id AND $rows",
        ),
        Keyed(
            "items",
            "SELECT k.order_id, k.line_no FROM keys AS k "
            "SEMI JOIN items AS x ON x.item_id = k.item_id AND $rows",
        ),
        Keyed(
            "customers",
            "SELECT k.order_id, k.line_no FROM keys AS k "
            "SEMI JOIN customers AS x ON x.customer_id = k.customer_id AND $rows",
        ),
    ),
)

SCOPES: dict[str, Scope] = {s.model: s for s in (STOCKOUT_SCOPE, LATE_SCOPE)}


@dataclass
class Plan:
    """What a model's refresh rescores: every key (`keys` None, with the reason) or `keys`."""

    model: str
    stamp: str
    keys: pl.DataFrame | None
    reason: str | None = None
    parts: tuple[str, ...] = field(default_factory=tuple)  # fingerprints computed in this run

    @property
    def full(self) -> bool:
        """Whether every key is rescored."""
        return self.keys is None


_KEY_TYPES = {
    "location_id": pl.String,
    "item_id": pl.String,
    "order_id": pl.String,
    "line_no": pl.Int64,
}


def no_keys(scope: Scope) -> pl.DataFrame:
    """An empty frame of `scope`'s key columns: nothing to rescore."""
    return pl.DataFrame(schema={c: _KEY_TYPES[c] for c in scope.key})


def stored_stamp(con: duckdb.DuckDBPyConnection, model: str) -> str | None:
    """What the stored scores of `model` were made with (None: no scores with fingerprints)."""
    rows = con.execute(
        f"SELECT k1 FROM {STATE} WHERE model = ? AND part = ?", [model, _STAMP]
    ).fetchall()
    return rows[0][0] if rows else None


def _fill(sql: str, params: Mapping[str, str]) -> str:
    for name, value in params.items():
        sql = sql.replace(f"${name}", value)
    return sql


def _fingerprint(
    con: duckdb.DuckDBPyConnection,
    scope: Scope,
    parts: tuple[Fingerprint, ...],
    params: Mapping[str, str],
) -> None:
    """This run's fingerprints of `parts` into the temp table (replacing theirs)."""
    con.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {_NOW} "
        "(model VARCHAR, part VARCHAR, k1 VARCHAR, k2 VARCHAR, fp HUGEINT)"
    )
    for part in parts:
        con.execute(f"DELETE FROM {_NOW} WHERE model = ? AND part = ?", [scope.model, part.name])
        con.execute(
            f"INSERT INTO {_NOW} SELECT ?, ?, coalesce(CAST(k1 AS VARCHAR), ''), "
            f"coalesce(CAST(k2 AS VARCHAR), ''), CAST(fp AS HUGEINT) FROM ({_fill(part.sql, params)})",
            [scope.model, part.name],
        )


def _changed_groups(
    con: duckdb.DuckDBPyConnection, model: str, parts: tuple[Fingerprint, ...]
) -> pl.DataFrame:
    """(part, k1, k2) of every group of `parts` (computed in this run) whose fingerprint
    differs from the stored one, or that is new or gone."""
    if not parts:
        return pl.DataFrame(schema={"part": pl.String, "k1": pl.String, "k2": pl.String})
    return con.sql(
        f"""
        WITH now AS (SELECT * FROM {_NOW} WHERE model = $model),
        stored AS (
            SELECT * FROM {STATE} WHERE model = $model AND list_contains($parts, part)
        )
        SELECT coalesce(n.part, s.part) AS part, coalesce(n.k1, s.k1) AS k1,
               coalesce(n.k2, s.k2) AS k2
        FROM now AS n FULL JOIN stored AS s USING (part, k1, k2)
        WHERE n.fp IS DISTINCT FROM s.fp
        """,
        params={"model": model, "parts": list(_names(parts))},
    ).pl()


def _candidates(
    con: duckdb.DuckDBPyConnection,
    scope: Scope,
    changes: Changes,
    changed: pl.DataFrame,
    params: Mapping[str, str],
) -> pl.DataFrame:
    """The keys whose features read a changed group, or a keyed row this run wrote."""
    cols = ", ".join(f"k.{c}" for c in scope.key)
    moved = set(changed["part"])
    selects = [
        f"SELECT {cols} FROM keys AS k SEMI JOIN risk_changed AS c "
        f"ON c.part = '{f.name}' AND {f.match}"
        for f in scope.fingerprints
        if f.name in moved
    ]
    selects += [
        k.sql.replace("$rows", changes.rows_sql(k.table, "x"))
        for k in scope.keyed
        if k.table in changes.tables()
    ]
    if not selects:
        return no_keys(scope)
    sql = f"WITH keys AS ({_fill(scope.keys_sql, params)}) " + " UNION ".join(selects)
    with registered(con, "risk_changed", changed):
        return con.sql(sql).pl().cast({c: _KEY_TYPES[c] for c in scope.key})


def plan_rescore(
    con: duckdb.DuckDBPyConnection,
    scope: Scope,
    changes: Changes,
    *,
    stamp: str,
    views: Mapping[str, pl.DataFrame],
    params: Mapping[str, str] | None = None,
) -> Plan:
    """Which keys of `scope`'s model to rescore in this run, given what it changed.

    `stamp` names the model, model file, day and horizon scoring with; `views` are the
    frames the fingerprints read (risk_points, risk_groups) and `params` their `$name`s."""
    params = params or {}
    stored = stored_stamp(con, scope.model)
    reason = changes.full_reason
    if reason is None and stored is None:
        reason = "no earlier scores to update"
    elif reason is None and stored != stamp:
        reason = "a new model, model file or as-of day since the last scores"
    if reason is None and not changes.touches(scope.tables):
        return Plan(scope.model, stamp, no_keys(scope))
    with ExitStack() as stack:
        for name, frame in views.items():
            stack.enter_context(registered(con, name, frame))
        if reason is None:
            parts = tuple(f for f in scope.fingerprints if f.tables & changes.tables())
            _fingerprint(con, scope, parts, params)
            changed = _changed_groups(con, scope.model, parts)
            if not set(changed["part"]) & scope.moves_everything:
                keys = _candidates(con, scope, changes, changed, params)
                return Plan(scope.model, stamp, keys.unique(), None, _names(parts))
            reason = "a location's latest snapshot day moved"
        _fingerprint(con, scope, scope.fingerprints, params)
        return Plan(scope.model, stamp, None, reason, _names(scope.fingerprints))


def _names(parts: tuple[Fingerprint, ...]) -> tuple[str, ...]:
    return tuple(p.name for p in parts)


def save_fingerprints(con: duckdb.DuckDBPyConnection, plan: Plan) -> None:
    """Store the fingerprints `plan` computed and its stamp (inside the caller's transaction,
    with the scores they describe)."""
    if plan.full:
        con.execute(f"DELETE FROM {STATE} WHERE model = ?", [plan.model])
    else:
        con.execute(
            f"DELETE FROM {STATE} WHERE model = ? AND list_contains(?, part)",
            [plan.model, [*plan.parts, _STAMP]],
        )
    con.execute(f"INSERT INTO {STATE} VALUES (?, ?, ?, '', 0)", [plan.model, _STAMP, plan.stamp])
    if plan.parts:  # computed by plan_rescore on this connection
        con.execute(
            f"INSERT INTO {STATE} SELECT * FROM {_NOW} WHERE model = ? AND list_contains(?, part)",
            [plan.model, list(plan.parts)],
        )
        con.execute(f"DELETE FROM {_NOW} WHERE model = ?", [plan.model])
