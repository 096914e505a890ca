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

from control_tower.contracts import TABLES, Column, ColumnType, Table
from control_tower.warehouse.schema import landed_columns

T = ColumnType

DATE_RE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
TIME_RE = r"[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?"
OFFSET_RE = r" ?(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)"
NAIVE_TS_RE = f"{DATE_RE}({TIME_RE})?"
OFFSET_TS_RE = f"{DATE_RE}{TIME_RE}{OFFSET_RE}"
INT_RE = r"[+-]?[0-9]{1,18}"
FLOAT_ID_RE = r"[+-]?[0-9]+\.[0-9]+"
PERIOD_RE = r"[0-9]{4}-(0[1-9]|1[0-2])"
EARLIEST, LATEST = "1990-01-01", "2100-12-31"
TRUE_WORDS = ("true", "t", "yes", "y", "1")
FALSE_WORDS = ("false", "f", "no", "n", "0")


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _id(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _value(name: str) -> str:
    """SQL quoting the delivered value for a message: 'abc'."""
    return f"'''' || n.{_id(name)} || ''''"


def _msg(*parts: str) -> str:
    """Concatenate SQL string expressions."""
    return " || ".join(parts)


def _number_bounds(col: Column, typed: str) -> list[tuple[str, str]]:
    checks = []
    if col.min_value is not None:
        op, word = ("<=", "greater than") if col.min_exclusive else ("<", "at least")
        bound = _fmt_num(col.min_value)
        checks.append(
            (
                f"{typed} {op} {bound}",
                _msg(
                    _lit(f"{col.name} must be {word} {bound}, got "),
                    f"n.{_id(col.name)}",
                ),
            )
        )
    if col.max_value is not None:
        bound = _fmt_num(col.max_value)
        checks.append(
            (
                f"{typed} > {bound}",
                _msg(_lit(f"{col.name} must be at most {bound}, got "), f"n.{_id(col.name)}"),
            )
        )
    return checks


def _fmt_num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


@dataclass
class _ColumnSql:
    typed: list[tuple[str, str]]  # (expression over n, output name) in the typed layer
    checks: list[tuple[str, str]]  # (condition over n and typed alias t, reason expression)


def _column_sql(col: Column) -> _ColumnSql:
    v = f"n.{_id(col.name)}"
    name = col.name
    out = _id(name)
    checks: list[tuple[str, str]] = []
    if not col.nullable:
        checks.append((f"{v} IS NULL", _lit(f"missing value: {name} is required")))
    kind = col.type
    if kind in (T.ID, T.TEXT):
        typed = [(v, out)]
        if kind is T.ID:
            checks.append(
                (
                    f"regexp_full_match({v}, {_lit(FLOAT_ID_RE)})",
                    _msg(
                        _value(name),
                        _lit(
                            f" looks like a float-formatted id; {name} must be delivered as the "
                            "source system writes it (725, not 725.0)"
                        ),
                    ),
                )
            )
            checks.append((f"length({v}) > 200", _lit(f"{name} is longer than 200 characters")))
    elif kind is T.INT:
        t = f"TRY_CAST(CASE WHEN regexp_full_match({v}, {_lit(INT_RE)}) THEN {v} END AS BIGINT)"
        typed = [(t, out)]
        checks.append(
            (
                f"{v} IS NOT NULL AND NOT regexp_full_match({v}, {_lit(INT_RE)})",
                _msg(_value(name), _lit(f" is not a whole number ({name})")),
            )
        )
        checks += _number_bounds(col, t)
    elif kind in (T.DECIMAL, T.QTY):
        t = f"TRY_CAST({v} AS DECIMAL(18,4))"
        typed = [(t, out)]
        checks.append(
            (
                f"{v} IS NOT NULL AND {t} IS NULL",
                _msg(_value(name), _lit(f" is not a number ({name})")),
            )
        )
        checks += _number_bounds(col, t)
    elif kind is T.DATE:
        t = f"TRY_CAST(CASE WHEN regexp_full_match({v}, {_lit(DATE_RE)}) THEN {v} END AS DATE)"
        typed = [(t, out)]
        checks += [
            (
                f"{v} IS NOT NULL AND NOT regexp_full_match({v}, {_lit(DATE_RE)})",
                _msg(_value(name), _lit(f" is not a date in YYYY-MM-DD format ({name})")),
            ),
            (
                f"{v} IS NOT NULL AND {t} IS NULL",
                _msg(_value(name), _lit(f" is not a real calendar date ({name})")),
            ),
            (
                f"{t} NOT BETWEEN DATE '{EARLIEST}' AND DATE '{LATEST}'",
                _msg(
                    _value(name),
                    _lit(f" is outside the plausible range {EARLIEST[:4]}-{LATEST[:4]} ({name})"),
                ),
            ),
        ]
    elif kind is T.TIMESTAMP:
        naive = (
            f"TRY_CAST(CASE WHEN regexp_full_match({v}, {_lit(NAIVE_TS_RE)}) THEN {v} END "
            "AS TIMESTAMP)"
        )
        instant = (
            f"TRY_CAST(CASE WHEN regexp_full_match({v}, {_lit(OFFSET_TS_RE)}) THEN {v} END "
            "AS TIMESTAMPTZ)"
        )
        typed = [(naive, _id(name + "__naive")), (instant, _id(name + "__instant"))]
        shape = (
            f"(regexp_full_match({v}, {_lit(NAIVE_TS_RE)}) OR "
            f"regexp_full_match({v}, {_lit(OFFSET_TS_RE)}))"
        )
        either = f"coalesce({naive}, timezone('UTC', {instant}))"
        checks += [
            (
                f"{v} IS NOT NULL AND NOT {shape}",
                _msg(_value(name), _lit(f" is not an ISO 8601 timestamp ({name})")),
            ),
            (
                f"{v} IS NOT NULL AND {naive} IS NULL AND {instant} IS NULL",
                _msg(_value(name), _lit(f" is not a real date and time ({name})")),
            ),
            (
                f"{either} NOT BETWEEN TIMESTAMP '{EARLIEST}' AND TIMESTAMP '{LATEST}'",
                _msg(
                    _value(name),
                    _lit(f" is outside the plausible range {EARLIEST[:4]}-{LATEST[:4]} ({name})"),
                ),
            ),
        ]
    elif kind is T.BOOL:
        whens = (
            " ".join(f"WHEN {_lit(w)} THEN true" for w in TRUE_WORDS)
            + " "
            + " ".join(f"WHEN {_lit(w)} THEN false" for w in FALSE_WORDS)
        )
        t = f"CASE lower({v}) {whens} END"
        typed = [(t, out)]
        checks.append(
            (
                f"{v} IS NOT NULL AND {t} IS NULL",
                _msg(_value(name), _lit(f" is not true or false ({name})")),
            )
        )
    elif kind is T.ENUM:
        whens = " ".join(f"WHEN {_lit(a.lower())} THEN {_lit(a)}" for a in col.allowed)
        t = f"CASE lower({v}) {whens} END"
        typed = [(t, out)]
        checks.append(
            (
                f"{v} IS NOT NULL AND {t} IS NULL",
                _msg(
                    _value(name),
                    _lit(f" is not a known {name} (expected one of: {', '.join(col.allowed)})"),
                ),
            )
        )
    elif kind is T.PERIOD:
        typed = [(f"CASE WHEN regexp_full_match({v}, {_lit(PERIOD_RE)}) THEN {v} END", out)]
        checks.append(
            (
                f"{v} IS NOT NULL AND NOT regexp_full_match({v}, {_lit(PERIOD_RE)})",
                _msg(_value(name), _lit(f" is not a period in YYYY-MM format ({name})")),
            )
        )
    elif kind is T.TIMEZONE:
        typed = [(v, out)]
        checks.append(
            (
                f"{v} IS NOT NULL AND {v} NOT IN (SELECT name FROM _zones)",
                _msg(
                    _value(name),
                    _lit(f" is not an IANA time zone name such as America/Chicago ({name})"),
                ),
            )
        )
    else:  # pragma: no cover - every ColumnType is handled above
        raise ValueError(f"unhandled column type {kind}")
    return _ColumnSql(typed, checks)


def _unique_in_target(target: Table, columns: tuple[str, ...]) -> bool:
    return tuple(sorted(target.key)) == tuple(sorted(columns))


def _join_source(target: str, columns: tuple[str, ...], carry: tuple[str, ...]) -> str:
    """A table (or grouped subquery) with one row per `columns` value, carrying `carry`."""
    tbl = TABLES[target]
    if _unique_in_target(tbl, columns):
        return f"main.{target}"
    keys = ", ".join(_id(c) for c in columns)
    extra = "".join(f", any_value({_id(c)}) AS {_id(c)}" for c in carry if c not in columns)
    return f"(SELECT {keys}{extra} FROM main.{target} GROUP BY {keys})"


def build_checked_sql(table: Table, present: set[str]) -> str:
    """The CREATE TEMP TABLE `checked` statement for a file of `table` with columns `present`."""
    col_sql = {c.name: _column_sql(c) for c in table.columns}

    normalised = ", ".join(
        (
            f"NULLIF(trim(r.{_id(c)}), '') AS {_id(c)}"
            if c in present
            else f"NULL::VARCHAR AS {_id(c)}"
        )
        for c in table.column_names
    )
    layer_n = f"SELECT r.rowid AS _rid, {normalised} FROM raw r"

    typed_cols = ", ".join(
        f"{expr} AS {out}" for c in table.columns for expr, out in col_sql[c.name].typed
    )
    reason_cols = []
    reason_names: list[tuple[str, str]] = []  # (reason column, contract column)
    for c in table.columns:
        checks = col_sql[c.name].checks
        if not checks:
            continue
        whens = " ".join(f"WHEN {cond} THEN {reason}" for cond, reason in checks)
        rname = f"_r_{c.name}"
        reason_cols.append(f"CASE {whens} END AS {_id(rname)}")
        reason_names.append((rname, c.name))
    layer_t = (
        f"SELECT n._rid, {typed_cols}"
        + ("".join(f", {rc}" for rc in reason_cols))
        + "".join(f", n.{_id(c)} AS {_id('_v_' + c)}" for c in table.column_names)
        + " FROM n"
    )

    # References and time zone lookups join the already-landed tables.
    joins: list[str] = []
    ref_reasons: list[tuple[str, str, str]] = []  # (reason expr, reason col, contract column)
    loc_alias: str | None = None
    item_alias: str | None = None
    for i, ref in enumerate(table.references):
        alias = f"ref{i}"
        carry: tuple[str, ...] = ()
        if ref.table == "locations":
            carry = ("timezone",)
            loc_alias = alias
        if ref.table == "items":
            carry = ("case_qty",)
            item_alias = alias
        src = _join_source(ref.table, ref.target_columns, carry)
        on = " AND ".join(
            f"{alias}.{_id(tc)} = t.{_id(sc)}"
            for sc, tc in zip(ref.columns, ref.target_columns, strict=True)
        )
        joins.append(f"LEFT JOIN {src} {alias} ON {on}")
        present_keys = " AND ".join(f"t.{_id(sc)} IS NOT NULL" for sc in ref.columns)
        if len(ref.columns) == 1:
            what = _msg(
                _lit(f"unknown {ref.columns[0]} "),
                f"'''' || t.{_id(ref.columns[0])} || ''''",
                _lit(f": not in {ref.table}"),
            )
        else:
            parts = [_msg(_lit(f"{sc}="), f"CAST(t.{_id(sc)} AS VARCHAR)") for sc in ref.columns]
            what = _msg(
                _lit(f"{ref.table[:-1].replace('_', ' ')} ("),
                " || ', ' || ".join(parts),
                _lit(f") not found in {ref.table}"),
            )
        cond = f"{present_keys} AND {alias}.{_id(ref.target_columns[0])} IS NULL"
        ref_reasons.append((f"CASE WHEN {cond} THEN {what} END", f"_ref{i}", ref.columns[0]))

    tz_expr = "'UTC'"
    if "timezone" in table.column_names:
        # The row's own zone, only once known to be valid (an unknown zone is a row error).
        tz_expr = "CASE WHEN t.timezone IN (SELECT name FROM _zones) THEN t.timezone END"
    elif "location_id" in table.column_names:
        if loc_alias is None:
            joins.append("LEFT JOIN main.locations loc ON loc.location_id = t.location_id")
            loc_alias = "loc"
        tz_expr = f"{loc_alias}.timezone"
    elif table.timezone.via:
        prev = "t"
        hops = table.timezone.via
        for h, (hop_table, pairs) in enumerate(hops):
            needed = tuple(p[0] for p in hops[h + 1][1]) if h + 1 < len(hops) else ("location_id",)
            src = _join_source(hop_table, tuple(tc for _, tc in pairs), needed)
            on = " AND ".join(f"h{h}.{_id(tc)} = {prev}.{_id(sc)}" for sc, tc in pairs)
            joins.append(f"LEFT JOIN {src} h{h} ON {on}")
            prev = f"h{h}"
        joins.append(f"LEFT JOIN main.locations hloc ON hloc.location_id = {prev}.location_id")
        tz_expr = "hloc.timezone"

    uom_factor = None
    if table.has_uom:
        if item_alias is None:  # pragma: no cover - every uom table references items
            raise ValueError(f"{table.name} has a uom but no item reference")
        uom_factor = f"CASE t.uom WHEN 'CS' THEN {item_alias}.case_qty WHEN 'EA' THEN 1 END"

    layer_j_cols = ["t.*", f"{tz_expr} AS _tz"]
    if uom_factor:
        layer_j_cols.append(f"{uom_factor} AS uom_factor")
    layer_j_cols += [f"{expr} AS {_id(name)}" for expr, name, _ in ref_reasons]
    layer_j = f"SELECT {', '.join(layer_j_cols)} FROM t {' '.join(joins)}"

    # Harmonised output columns, in landed order.
    out_cols: list[str] = ["j._rid"]
    for name, _sql_type in landed_columns(table):
        if name in ("_batch_id", "_loaded_at", "promise_changes"):
            continue
        col = next((c for c in table.columns if c.name == name), None)
        if name == "uom_factor":
            out_cols.append("j.uom_factor")
        elif name.endswith("_local_date") and col is None:
            base = name.removesuffix("_local_date")
            out_cols.append(f"timezone(j._tz, {_instant(base)})::DATE AS {_id(name)}")
        elif col is not None and col.type is T.TIMESTAMP:
            out_cols.append(f"timezone('UTC', {_instant(name)}) AS {_id(name)}")
        elif col is not None and col.type is T.QTY and table.has_uom:
            out_cols.append(f"j.{_id(name)} * j.uom_factor AS {_id(name)}")
        else:
            out_cols.append(f"j.{_id(name)}")
    reason_refs = [(f"j.{_id(r)}", c) for r, c in reason_names] + [
        (f"j.{_id(name)}", c) for _, name, c in ref_reasons
    ]
    layer_h = (
        f"SELECT {', '.join(out_cols)}, "
        + ", ".join(f"{expr} AS {_id('_x' + str(i))}" for i, (expr, _) in enumerate(reason_refs))
        + ", "
        + ", ".join(f"j.{_id('_v_' + c)}" for c in table.column_names)
        + " FROM j"
    )
    if not reason_refs:  # pragma: no cover - every table has required columns
        raise ValueError(f"{table.name} has no checks")

    # Row-level consistency checks over harmonised values.
    row_reasons = []
    for cols, cond, reason in table.row_checks:
        row_reasons.append(
            (
                f"CASE WHEN NOT coalesce({_qualify(cond, table, 'h')}, true) THEN {_lit(reason)} END",
                cols[0],
            )
        )
    structs = [
        f"{{'column': {_lit(c)}, 'value': h.{_id('_v_' + c)}, 'reason': h.{_id('_x' + str(i))}}}"
        for i, (_, c) in enumerate(reason_refs)
    ] + [
        f"{{'column': {_lit(c)}, 'value': h.{_id('_v_' + c)}, 'reason': {expr}}}"
        for expr, c in row_reasons
    ]
    any_bad = " OR ".join(
        [f"h.{_id('_x' + str(i))} IS NOT NULL" for i in range(len(reason_refs))]
        + [f"({expr}) IS NOT NULL" for expr, _ in row_reasons]
    )
    final_cols = ", ".join(
        f"h.{_id(name)}"
        for name, _ in landed_columns(table)
        if name not in ("_batch_id", "_loaded_at", "promise_changes")
    )
    return (
        "CREATE OR REPLACE TEMP TABLE checked AS\n"
        f"WITH n AS ({layer_n}),\n t AS ({layer_t}),\n j AS ({layer_j}),\n h AS ({layer_h})\n"
        f"SELECT h._rid, {final_cols},\n"
        f"  CASE WHEN {any_bad} THEN list_filter([{', '.join(structs)}], lambda x: x.reason IS NOT NULL) END"
        " AS _errors\nFROM h"
    )


def _instant(name: str) -> str:
    """The instant of a timestamp column in layer j: its offset, or local time at j._tz."""
    return f"coalesce(j.{_id(name + '__instant')}, timezone(j._tz, j.{_id(name + '__naive')}))"


def _qualify(cond: str, table: Table, alias: str) -> str:
    """Prefix the contract's column names in a row-check condition with a table alias."""
    names = sorted(table.column_names, key=len, reverse=True)
    pattern = re.compile(r"\b(" + "|".join(re.escape(n) for n in names) + r")\b")
    return pattern.sub(lambda m: f"{alias}.{_id(m.group(1))}", cond)
