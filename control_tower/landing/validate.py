"""Contract validation and harmonisation, compiled to one vectorised DuckDB query per file.

From the temp table `raw` (text as delivered) this builds `checked`: one row
per record with every column typed and harmonised (quantities in base
units, timestamps as UTC plus the location's local date), and `_errors`, a
list of {column, value, reason} that is NULL for a good row. Every check is
a SQL expression over whole columns: no Python loop ever visits a row.

The SQL is generated from the contract declarations only (trusted
identifiers); values from files are data, never part of the SQL text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from control_tower.contracts import TABLES, Table
from control_tower.landing.column_sql import (
    CAST_TRIMMED,
    ColumnSql,
    T,
    column_sql,
    ident,
    message,
    sql_text,
    suspects,
    utc_wall,
    value_text,
)
from control_tower.storage.schema import landed_columns


def _unique_in_target(target: Table, columns: tuple[str, ...]) -> bool:
    return tuple(sorted(target.key)) == tuple(sorted(columns))


def _join_source(target: str, columns: tuple[str, ...], carry: tuple[str, ...]) -> str:
    """A table (or grouped subquery) with one row per `columns` value, carrying `carry`."""
    tbl = TABLES[target]
    if _unique_in_target(tbl, columns):
        return f"main.{target}"
    keys = ", ".join(ident(c) for c in columns)
    extra = "".join(f", any_value({ident(c)}) AS {ident(c)}" for c in carry if c not in columns)
    return f"(SELECT {keys}{extra} FROM main.{target} GROUP BY {keys})"


@dataclass
class _Joins:
    clauses: list[str]
    tz: str  # SQL for the row's IANA zone
    uom_factor: str | None  # SQL for the case-to-each factor, for tables with a uom
    checks: list[tuple[str, str, str]]  # (condition, reason, contract column) over `t` and joins


def _joins(table: Table) -> _Joins:
    """Reference checks and time zone lookups: LEFT JOINs to the already-landed tables."""
    clauses: list[str] = []
    checks: list[tuple[str, str, str]] = []
    loc_alias: str | None = None
    item_alias: str | None = None
    for i, ref in enumerate(table.references):
        alias = f"ref{i}"
        carry: tuple[str, ...] = ()
        if ref.table == "locations":
            carry, loc_alias = ("timezone",), alias
        if ref.table == "items":
            carry, item_alias = ("case_qty",), alias
        src = _join_source(ref.table, ref.target_columns, carry)
        on = " AND ".join(
            f"{alias}.{ident(tc)} = t.{ident(sc)}"
            for sc, tc in zip(ref.columns, ref.target_columns, strict=True)
        )
        clauses.append(f"LEFT JOIN {src} {alias} ON {on}")
        present_keys = " AND ".join(f"t.{ident(sc)} IS NOT NULL" for sc in ref.columns)
        if len(ref.columns) == 1:
            what = message(
                sql_text(f"unknown {ref.columns[0]} "),
                value_text(f"t.{ident(ref.columns[0])}"),
                sql_text(f": not in {ref.table}"),
            )
        else:
            parts = [
                message(sql_text(f"{sc}="), f"CAST(t.{ident(sc)} AS VARCHAR)") for sc in ref.columns
            ]
            what = message(
                sql_text(f"{ref.table[:-1].replace('_', ' ')} ("),
                " || ', ' || ".join(parts),
                sql_text(f") not found in {ref.table}"),
            )
        cond = f"{present_keys} AND {alias}.{ident(ref.target_columns[0])} IS NULL"
        checks.append((cond, what, ref.columns[0]))

    tz = "'UTC'"
    if "timezone" in table.column_names:
        # The row's own zone, only once known to be valid (an unknown zone is a row error).
        tz = "CASE WHEN t.timezone IN (SELECT name FROM _zones) THEN t.timezone END"
    elif "location_id" in table.column_names:
        if loc_alias is None:
            clauses.append("LEFT JOIN main.locations loc ON loc.location_id = t.location_id")
            loc_alias = "loc"
        tz = f"{loc_alias}.timezone"
    elif table.timezone.via:
        prev = "t"
        hops = table.timezone.via
        for h, (hop_table, pairs) in enumerate(hops):
            needed = tuple(p[0] for p in hops[h + 1][1]) if h + 1 < len(hops) else ("location_id",)
            src = _join_source(hop_table, tuple(tc for _, tc in pairs), needed)
            on = " AND ".join(f"h{h}.{ident(tc)} = {prev}.{ident(sc)}" for sc, tc in pairs)
            clauses.append(f"LEFT JOIN {src} h{h} ON {on}")
            prev = f"h{h}"
        clauses.append(f"LEFT JOIN main.locations hloc ON hloc.location_id = {prev}.location_id")
        tz = "hloc.timezone"

    uom_factor = None
    if table.has_uom:
        if item_alias is None:  # pragma: no cover - every uom table references items
            raise ValueError(f"{table.name} has a uom but no item reference")
        uom_factor = f"CASE t.uom WHEN 'CS' THEN {item_alias}.case_qty WHEN 'EA' THEN 1 END"
    return _Joins(clauses, tz, uom_factor, checks)


def _text_layer(
    table: Table,
    present: set[str],
    where: str = "",
    source: str = "raw",
    rid: str = "r.rowid",
    typed: frozenset[str] = frozenset(),
) -> str:
    """Layer `n`: the delivered text, trimmed, empty as NULL (trim only where there is space).

    A column in `typed` comes typed from the CSV reader and passes as it is.
    """
    parts = []
    for col in table.columns:
        c = col.name
        v = f"r.{ident(c)}"
        if c not in present:
            parts.append(f"NULL::VARCHAR AS {ident(c)}")
            continue
        if c in typed:
            parts.append(f"{v} AS {ident(c)}")
            continue
        if col.type in CAST_TRIMMED:
            parts.append(f"NULLIF({v}, '') AS {ident(c)}")
            continue
        parts.append(
            # First or last character a blank (space, tab, ...): the cheapest test found.
            f"CASE WHEN ascii({v}) <= 32 OR {v}[-1] <= ' ' "
            f"THEN NULLIF(trim({v}, ' ' || chr(9)), '') ELSE NULLIF({v}, '') END "
            f"AS {ident(c)}"
        )
    return f"SELECT {rid} AS _rid, {', '.join(parts)} FROM {source} r {where}"


def _typed_layer(table: Table, col_sql: dict[str, ColumnSql]) -> str:
    """Layer `t`: typed values, plus the delivered text of every column as `_v_<column>`."""
    typed = ", ".join(
        f"{expr} AS {out}" for c in table.columns for expr, out in col_sql[c.name].typed
    )
    text = "".join(f", n.{ident(c)} AS {ident('_v_' + c)}" for c in table.column_names)
    return f"SELECT n._rid, {typed}{text} FROM n"


def _harmonised_columns(table: Table) -> list[str]:
    """Landed columns from layer `k`: UTC instants, local dates, base-unit quantities."""
    out: list[str] = []
    for name in _output_names(table):
        col = next((c for c in table.columns if c.name == name), None)
        if name.endswith("_local_date") and col is None:
            at = ident(name.removesuffix("_local_date") + "__at")
            out.append(f"timezone(k._tz, k.{at})::DATE AS {ident(name)}")
        elif col is not None and col.type is T.TIMESTAMP:
            out.append(f"{utc_wall('k.' + ident(name + '__at'))} AS {ident(name)}")
        elif col is not None and col.type is T.QTY and table.has_uom:
            out.append(f"k.{ident(name)} * k.uom_factor AS {ident(name)}")
        else:
            out.append(f"k.{ident(name)}")
    return out


def _instants_layer(table: Table) -> str:
    """Layer `k`: each timestamp as an instant, from its offset or the row's zone (computed once)."""
    at = "".join(
        f", coalesce(j.{ident(c + '__instant')}, timezone(j._tz, j.{ident(c + '__naive')})) "
        f"AS {ident(c + '__at')}"
        for c in table.timestamp_columns
    )
    return f"SELECT j.*{at} FROM j"


def _output_names(table: Table) -> list[str]:
    """Landed columns that validation produces (the loader adds batch, load time, promise count)."""
    return [
        n
        for n, _ in landed_columns(table)
        if n not in ("_batch_id", "_loaded_at", "promise_changes")
    ]


def _row_checks(table: Table) -> list[tuple[str, str, str]]:
    """(condition that fails, reason, column) of the table's row-level checks, over layer `h`."""
    return [
        (f"NOT coalesce({_qualify(cond, table, 'h')}, true)", reason, cols[0])
        for cols, cond, reason in table.row_checks
    ]


def _layers(
    table: Table,
    present: set[str],
    *,
    detail: bool,
    where: str = "",
    source: str = "raw",
    rid: str = "r.rowid",
    typed: frozenset[str] = frozenset(),
    offset_first: frozenset[str] = frozenset(),
) -> str:
    """The shared layers n -> t -> j -> k -> h of both passes.

    Fast pass: `h` carries the harmonised columns and `_bad0`, a flag set by
    any column or reference check. Detail pass: `h` carries one reason column
    `_x<i>` per column and reference check, and the delivered text `_v_*`.
    `typed`: columns the CSV reader typed already (fast pass only).
    `offset_first`: timestamp columns whose values likely carry an offset.
    """
    col_sql = {
        c.name: column_sql(
            c,
            lambda n: f"t.{ident('_v_' + n)}",
            lambda n: f"t.{ident(n)}",
            reader_typed=c.name in typed,
            offset_first=c.name in offset_first,
        )
        for c in table.columns
    }
    joins = _joins(table)
    j_cols = ["t.*", f"{joins.tz} AS _tz"]
    if joins.uom_factor:
        j_cols.append(f"{joins.uom_factor} AS uom_factor")
    if detail:
        reasons: list[str] = []
        for c in table.columns:
            if col_sql[c.name].checks:
                whens = " ".join(f"WHEN {cond} THEN {why}" for cond, why in col_sql[c.name].checks)
                reasons.append(f"CASE {whens} END")
        reasons += [f"CASE WHEN {cond} THEN {why} END" for cond, why, _ in joins.checks]
        j_cols += [f"{expr} AS {ident('_x' + str(i))}" for i, expr in enumerate(reasons)]
        h_extra = "".join(f", k.{ident('_x' + str(i))}" for i in range(len(reasons)))
        h_extra += "".join(f", k.{ident('_v_' + c)}" for c in table.column_names)
    else:
        raw_of, typed_of = (lambda n: f"t.{ident('_v_' + n)}"), (lambda n: f"t.{ident(n)}")
        conds = [
            f
            for c in table.columns
            for f in suspects(c, raw_of(c.name), typed_of, reader_typed=c.name in typed)
        ]
        conds += [cond for cond, _, _ in joins.checks]
        # True when any check is; NULL (not flagged) when none is but one could not tell.
        j_cols.append(" OR ".join(f"({cond})" for cond in conds) + " AS _bad0")
        h_extra = ", k._bad0"
    layer_j = f"SELECT {', '.join(j_cols)} FROM t {' '.join(joins.clauses)}"
    layer_h = f"SELECT k._rid, {', '.join(_harmonised_columns(table))}{h_extra} FROM k"
    return (
        f"WITH n AS ({_text_layer(table, present, where, source, rid, typed)}),\n"
        f" t AS ({_typed_layer(table, col_sql)}),\n j AS ({layer_j}),\n"
        f" k AS ({_instants_layer(table)}),\n h AS ({layer_h})\n"
    )


def _check_columns(table: Table) -> list[str]:
    """The contract column each detail-pass reason `_x<i>` belongs to, in order."""
    col_sql = {c.name: column_sql(c, str, str) for c in table.columns}
    names = [c.name for c in table.columns if col_sql[c.name].checks]
    return names + [col for _, _, col in _joins(table).checks]


# The message of the error a streamed fast pass raises at its first flagged row.
FLAGGED_ROW = "control-tower: a row is flagged, land the file through the raw table"


def _flag(table: Table) -> str:
    """SQL over layer `h`: the fast pass flags the row (a column, reference or row check)."""
    return "h._bad0" + "".join(f" OR {cond}" for cond, _, _ in _row_checks(table))


def build_checked_sql(
    table: Table,
    present: set[str],
    *,
    stream: str | None = None,
    typed: frozenset[str] = frozenset(),
    offset_first: frozenset[str] = frozenset(),
) -> str:
    """Fast pass over every row: `checked` with typed, harmonised columns and a `_bad` flag.

    `present` are the (normalised) column names the file delivered. The rows
    come from the temp table `raw` (`_rid` = its rowid), or with `stream`
    from that relation (a view over the file): then `_rid` is NULL, and the
    statement fails with FLAGGED_ROW at the first row the fast pass flags,
    so a file that is not clean costs only the rows read up to it. `typed`
    names the stream's columns the CSV reader typed (`column_sql.READER_TYPES`);
    `offset_first` the timestamp columns to test for an offset first.
    """
    final = ", ".join(f"h.{ident(n)}" for n in _output_names(table))
    bad = _flag(table)
    if stream is None:
        layers = _layers(table, present, detail=False, offset_first=offset_first)
    else:
        layers = _stream_layers(table, present, stream, typed, offset_first)
        bad = f"CASE WHEN {bad} THEN error({sql_text(FLAGGED_ROW)}) ELSE false END"
    return (
        "CREATE OR REPLACE TEMP TABLE checked AS\n"
        + layers
        + f"SELECT h._rid, {final}, {bad} AS _bad FROM h"
    )


def _stream_layers(
    table: Table,
    present: set[str],
    stream: str,
    typed: frozenset[str],
    offset_first: frozenset[str],
) -> str:
    """The fast pass's layers over a stream (no rowid: `_rid` is NULL)."""
    return _layers(
        table,
        present,
        detail=False,
        source=stream,
        rid="NULL::BIGINT",
        typed=typed,
        offset_first=offset_first,
    )


def build_good_view_sql(
    table: Table,
    present: set[str],
    stream: str,
    typed: frozenset[str],
    offset_first: frozenset[str] = frozenset(),
) -> str:
    """The temp view `good`: the fast pass over `stream`, harmonised rows ready to upsert.

    Reading the view fails with FLAGGED_ROW at the first row the fast pass
    flags, so whatever reads it (an upsert inside a transaction) only ever
    sees a file none of whose rows has anything to quarantine. The check is
    a filter, not a column: a column nobody reads would be pruned unevaluated.
    """
    final = ", ".join(f"h.{ident(n)}" for n in _output_names(table))
    layers = _stream_layers(table, present, stream, typed, offset_first)
    keep = f"CASE WHEN {_flag(table)} THEN error({sql_text(FLAGGED_ROW)}) ELSE true END"
    return f"CREATE OR REPLACE TEMP VIEW good AS\n{layers}SELECT {final} FROM h WHERE {keep}"


def _with_values(reason: str, columns: tuple[str, ...]) -> str:
    """A row check's reason naming the values it compared, as delivered (layer `h`).

    E.g. "putaway_ts is before arrived_ts (putaway_ts '2026-03-08 05:00:00',
    arrived_ts '2026-03-08 06:00:00')".
    """
    shown = " || ', ' || ".join(
        f"{sql_text(c + ' ')} || coalesce('''' || h.{ident('_v_' + c)} || '''', 'empty')"
        for c in columns
    )
    return f"{sql_text(reason + ' (')} || {shown} || ')'"


def build_errors_sql(table: Table, present: set[str]) -> str:
    """Detail pass over the rows listed in temp table `bad_rids`: `row_errors(_rid, _errors)`.

    `_errors` lists {column, value, reason}: the first failing check of each
    column, each failing reference and each failing row-level check.
    """
    structs = [
        f"{{'column': {sql_text(c)}, 'value': h.{ident('_v_' + c)}, 'reason': h.{ident('_x' + str(i))}}}"
        for i, c in enumerate(_check_columns(table))
    ] + [
        f"{{'column': {sql_text(c)}, 'value': h.{ident('_v_' + c)}, "
        f"'reason': CASE WHEN {cond} THEN {_with_values(reason, cols)} END}}"
        for (cond, reason, c), (cols, _, _) in zip(
            _row_checks(table), table.row_checks, strict=True
        )
    ]
    where = "WHERE r.rowid IN (SELECT _rid FROM bad_rids)"
    return (
        "CREATE OR REPLACE TEMP TABLE row_errors AS\n"
        + _layers(table, present, detail=True, where=where)
        + f"SELECT h._rid, list_filter([{', '.join(structs)}], lambda x: x.reason IS NOT NULL) "
        "AS _errors FROM h"
    )


def _qualify(cond: str, table: Table, alias: str) -> str:
    """Prefix the contract's column names in a row-check condition with a table alias."""
    names = sorted(table.column_names, key=len, reverse=True)
    pattern = re.compile(r"\b(" + "|".join(re.escape(n) for n in names) + r")\b")
    return pattern.sub(lambda m: f"{alias}.{ident(m.group(1))}", cond)
