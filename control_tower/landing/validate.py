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
from collections.abc import Callable
from dataclasses import dataclass

from control_tower.contracts import TABLES, Column, ColumnType, Table
from control_tower.storage.schema import landed_columns

T = ColumnType

DATE_RE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
TIME_RE = r"[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?"
OFFSET_RE = r" ?(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)"
NAIVE_TS_RE = f"{DATE_RE}({TIME_RE})?"
OFFSET_TS_RE = f"{DATE_RE}{TIME_RE}{OFFSET_RE}"
FLOAT_ID_RE = r"[+-]?[0-9]+\.[0-9]+"
PERIOD_RE = r"[0-9]{4}-(0[1-9]|1[0-2])"
# Fast-pass shapes (one RE2 match each; DuckDB's translate() is ten times slower).
INT_TEXT_RE = r"\s*[+-]?[0-9]+\s*"
NAIVE_TEXT_RE = (
    r"\s*[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([T ][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?\s*"
)
OFFSET_TAIL_RE = r":[0-9]{2}(\.[0-9]+)?\s*(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)\s*$"
EARLIEST, LATEST = "1990-01-01", "2100-12-31"
# Types whose DuckDB cast ignores surrounding whitespace: no trim needed in the text layer.
CAST_TRIMMED = frozenset({T.INT, T.DECIMAL, T.QTY, T.DATE, T.TIMESTAMP})
TRUE_WORDS = ("true", "t", "yes", "y", "1")
FALSE_WORDS = ("false", "f", "no", "n", "0")


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _id(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _value(raw: str) -> str:
    """SQL quoting a delivered value for a message: 'abc'."""
    return "'''' || " + raw + " || ''''"


def _msg(*parts: str) -> str:
    """Concatenate SQL string expressions."""
    return " || ".join(parts)


def _fmt_num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _number_bounds(col: Column, typed: str, raw: str) -> list[tuple[str, str]]:
    checks = []
    got = _msg(_lit(", got "), raw)
    if col.min_value is not None:
        op, word = ("<=", "greater than") if col.min_exclusive else ("<", "at least")
        bound = _fmt_num(col.min_value)
        checks.append(
            (f"{typed} {op} {bound}", _msg(_lit(f"{col.name} must be {word} {bound}"), got))
        )
    if col.max_value is not None:
        bound = _fmt_num(col.max_value)
        checks.append(
            (f"{typed} > {bound}", _msg(_lit(f"{col.name} must be at most {bound}"), got))
        )
    return checks


@dataclass
class _ColumnSql:
    typed: list[tuple[str, str]]  # (expression over the text layer `n`, output name)
    checks: list[tuple[str, str]]  # (condition, reason) over the typed layer `t`; first match wins


def _column_sql(
    col: Column, raw_of: Callable[[str], str], typed_of: Callable[[str], str]
) -> _ColumnSql:
    """Typed expression(s) and the ordered checks of one contract column.

    Typed expressions read the text layer `n`. Checks read the delivered text
    through `raw_of(column)` and typed values through `typed_of(output)`, so
    the same checks serve the fast pass (inline expressions, one flag per
    row) and the detail pass (one reason per failing column, bad rows only).
    """
    v = f"n.{_id(col.name)}"
    name = col.name
    out = _id(name)
    kind = col.type
    tv = "" if kind is T.TIMESTAMP else typed_of(name)  # timestamps have two typed parts
    raw = raw_of(name)
    checks: list[tuple[str, str]] = []
    if kind in CAST_TRIMMED:
        # Not trimmed in the text layer (the cast ignores surrounding space); blank = missing.
        typed_null = (
            f"{typed_of(name + '__naive')} IS NULL AND {typed_of(name + '__instant')} IS NULL"
            if kind is T.TIMESTAMP
            else f"{tv} IS NULL"
        )
        missing = f"CASE WHEN {typed_null} THEN coalesce(trim({raw}), '') = '' ELSE false END"
        invalid = (
            f"CASE WHEN {typed_null} AND {raw} IS NOT NULL THEN trim({raw}) <> '' ELSE false END"
        )
    else:
        missing, invalid = f"{raw} IS NULL", f"{raw} IS NOT NULL AND {tv} IS NULL"
    if not col.nullable:
        checks.append((missing, _lit(f"missing value: {name} is required")))
    if kind in (T.ID, T.TEXT, T.TIMEZONE):
        typed = [(v, out)]
        if kind is T.ID:
            float_like = (
                f"CASE WHEN contains({raw}, '.') THEN regexp_full_match({raw}, "
                f"{_lit(FLOAT_ID_RE)}) ELSE false END"
            )
            checks.append(
                (
                    float_like,
                    _msg(
                        _value(raw),
                        _lit(
                            f" looks like a float-formatted id; {name} must be delivered as the "
                            "source system writes it (725, not 725.0)"
                        ),
                    ),
                )
            )
            checks.append((f"length({raw}) > 200", _lit(f"{name} is longer than 200 characters")))
        if kind is T.TIMEZONE:
            checks.append(
                (
                    f"{raw} IS NOT NULL AND {raw} NOT IN (SELECT name FROM _zones)",
                    _msg(
                        _value(raw),
                        _lit(f" is not an IANA time zone name such as America/Chicago ({name})"),
                    ),
                )
            )
    elif kind is T.INT:
        # Digits, a sign and blanks only: DuckDB's cast also takes 1e3, 0x10, 0b101, 1_000.
        typed = [
            (
                f"CASE WHEN regexp_full_match({v}, {_lit(INT_TEXT_RE)}) "
                f"THEN TRY_CAST({v} AS BIGINT) END",
                out,
            )
        ]
        checks.append(
            (
                invalid,
                _msg(_value(raw), _lit(f" is not a whole number ({name})")),
            )
        )
        checks += _number_bounds(col, tv, raw)
    elif kind in (T.DECIMAL, T.QTY):
        typed = [(f"TRY_CAST({v} AS DECIMAL(18,4))", out)]
        checks.append(
            (
                invalid,
                _msg(_value(raw), _lit(f" is not a number ({name})")),
            )
        )
        checks += _number_bounds(col, tv, raw)
    elif kind is T.DATE:
        # Year first, as ISO 8601 (DuckDB also takes 2026/03/05 and 2026-3-5, never 03/05/2026).
        # Starting with a digit: DuckDB's cast also takes the words epoch and infinity.
        typed = [
            (
                f"CASE WHEN {v}[1] BETWEEN '0' AND '9' OR {v}[1] IN (' ', chr(9)) "
                f"THEN TRY_CAST({v} AS DATE) END",
                out,
            )
        ]
        checks += [
            (
                invalid,
                _msg(
                    _value(raw),
                    f"CASE WHEN regexp_full_match(trim({raw}), {_lit(DATE_RE)}) "
                    f"THEN {_lit(f' is not a real calendar date ({name})')} "
                    f"ELSE {_lit(f' is not a date in YYYY-MM-DD format ({name})')} END",
                ),
            ),
            (
                f"{tv} NOT BETWEEN DATE '{EARLIEST}' AND DATE '{LATEST}'",
                _msg(
                    _value(raw),
                    _lit(f" is outside the plausible range {EARLIEST[:4]}-{LATEST[:4]} ({name})"),
                ),
            ),
        ]
    elif kind is T.TIMESTAMP:
        # An offset (Z, +hh, +hhmm, +hh:mm) after the time makes the value an instant; DuckDB's
        # TIMESTAMP cast would silently drop it, so the two kinds are cast separately.
        has_offset = f"regexp_matches({v}, {_lit(OFFSET_TAIL_RE)})"
        # No letters but the T separator: DuckDB's TIMESTAMP cast silently drops any trailing
        # word, so '09:00:00 UTC', '09:00:00 CET' or '09:00:00 PM' would land as local 09:00.
        naive = (
            f"CASE WHEN regexp_full_match({v}, {_lit(NAIVE_TEXT_RE)}) "
            f"THEN TRY_CAST({v} AS TIMESTAMP) END"
        )
        # DuckDB refuses a lower-case z and a space before the offset, which the shape allows:
        # only values that fail the plain cast are respelled (coalesce is lazy).
        respelled = (
            f"regexp_replace(regexp_replace({v}, '\\s*[zZ]\\s*$', '+00:00'), "
            "'\\s+([+-][0-9]{2}(:?[0-9]{2})?)\\s*$', '\\1')"
        )
        instant = (
            f"CASE WHEN {has_offset} THEN coalesce(TRY_CAST({v} AS TIMESTAMPTZ), "
            f"TRY_CAST({respelled} AS TIMESTAMPTZ)) END"
        )
        typed = [(naive, _id(name + "__naive")), (instant, _id(name + "__instant"))]
        t_naive, t_instant = typed_of(name + "__naive"), typed_of(name + "__instant")
        either = f"coalesce({t_naive}, timezone('UTC', {t_instant}))"
        checks += [
            (
                invalid,
                _msg(
                    _value(raw),
                    f"CASE WHEN regexp_full_match(trim({raw}), {_lit(NAIVE_TS_RE)}) "
                    f"OR regexp_full_match(trim({raw}), {_lit(OFFSET_TS_RE)}) "
                    f"THEN {_lit(f' is not a real date and time ({name})')} "
                    f"ELSE {_lit(f' is not an ISO 8601 timestamp such as 2026-03-01T14:30:00 or 2026-03-01T14:30:00-06:00 ({name})')} END",
                ),
            ),
            (
                f"{either} NOT BETWEEN TIMESTAMP '{EARLIEST}' AND TIMESTAMP '{LATEST}'",
                _msg(
                    _value(raw),
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
        typed = [(f"CASE lower({v}) {whens} END", out)]
        checks.append(
            (
                f"{raw} IS NOT NULL AND {tv} IS NULL",
                _msg(_value(raw), _lit(f" is not true or false ({name})")),
            )
        )
    elif kind is T.ENUM:
        whens = " ".join(f"WHEN {_lit(a.lower())} THEN {_lit(a)}" for a in col.allowed)
        typed = [(f"CASE lower({v}) {whens} END", out)]
        checks.append(
            (
                f"{raw} IS NOT NULL AND {tv} IS NULL",
                _msg(
                    _value(raw),
                    _lit(f" is not a known {name} (expected one of: {', '.join(col.allowed)})"),
                ),
            )
        )
    elif kind is T.PERIOD:
        typed = [(f"CASE WHEN regexp_full_match({v}, {_lit(PERIOD_RE)}) THEN {v} END", out)]
        checks.append(
            (
                f"{raw} IS NOT NULL AND {tv} IS NULL",
                _msg(_value(raw), _lit(f" is not a period in YYYY-MM format ({name})")),
            )
        )
    else:  # pragma: no cover - every ColumnType is handled above
        raise ValueError(f"unhandled column type {kind}")
    return _ColumnSql(typed, checks)


def _suspects(col: Column, raw: str, typed_of: Callable[[str], str]) -> list[str]:
    """Cheap conditions that hold for every row the column's checks would refuse (a superset).

    The fast pass flags rows with these; the detail pass then runs the exact
    checks on the flagged rows only, and a flagged row with no reason loads.
    """
    kind, name = col.type, col.name
    if kind is T.TIMESTAMP:
        naive, instant = typed_of(name + "__naive"), typed_of(name + "__instant")
        is_null = f"({naive} IS NULL AND {instant} IS NULL)"
        value = f"coalesce({naive}, timezone('UTC', {instant}))"
    else:
        is_null, value = f"{typed_of(name)} IS NULL", typed_of(name)
    flags = [is_null if not col.nullable else f"({raw} IS NOT NULL AND {is_null})"]
    if kind is T.ID:
        flags += [f"contains({raw}, '.')", f"length({raw}) > 200"]
    elif kind is T.TIMEZONE:
        flags.append(f"{raw} NOT IN (SELECT name FROM _zones)")
    elif kind in (T.INT, T.DECIMAL, T.QTY):
        if col.min_value is not None:
            flags.append(f"{value} {'<=' if col.min_exclusive else '<'} {_fmt_num(col.min_value)}")
        if col.max_value is not None:
            flags.append(f"{value} > {_fmt_num(col.max_value)}")
    elif kind is T.DATE:
        flags.append(f"{value} NOT BETWEEN DATE '{EARLIEST}' AND DATE '{LATEST}'")
    elif kind is T.TIMESTAMP:
        flags.append(f"{value} NOT BETWEEN TIMESTAMP '{EARLIEST}' AND TIMESTAMP '{LATEST}'")
    return flags


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
            f"{alias}.{_id(tc)} = t.{_id(sc)}"
            for sc, tc in zip(ref.columns, ref.target_columns, strict=True)
        )
        clauses.append(f"LEFT JOIN {src} {alias} ON {on}")
        present_keys = " AND ".join(f"t.{_id(sc)} IS NOT NULL" for sc in ref.columns)
        if len(ref.columns) == 1:
            what = _msg(
                _lit(f"unknown {ref.columns[0]} "),
                _value(f"t.{_id(ref.columns[0])}"),
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
            on = " AND ".join(f"h{h}.{_id(tc)} = {prev}.{_id(sc)}" for sc, tc in pairs)
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
    table: Table, present: set[str], where: str = "", source: str = "raw", rid: str = "r.rowid"
) -> str:
    """Layer `n`: the delivered text, trimmed, empty as NULL (trim only where there is space)."""
    parts = []
    for col in table.columns:
        c = col.name
        v = f"r.{_id(c)}"
        if c not in present:
            parts.append(f"NULL::VARCHAR AS {_id(c)}")
            continue
        if col.type in CAST_TRIMMED:
            parts.append(f"NULLIF({v}, '') AS {_id(c)}")
            continue
        parts.append(
            # First or last character a blank (space, tab, ...): the cheapest test found.
            f"CASE WHEN ascii({v}) <= 32 OR {v}[-1] <= ' ' "
            f"THEN NULLIF(trim({v}, ' ' || chr(9)), '') ELSE NULLIF({v}, '') END "
            f"AS {_id(c)}"
        )
    return f"SELECT {rid} AS _rid, {', '.join(parts)} FROM {source} r {where}"


def _typed_layer(table: Table, col_sql: dict[str, _ColumnSql]) -> str:
    """Layer `t`: typed values, plus the delivered text of every column as `_v_<column>`."""
    typed = ", ".join(
        f"{expr} AS {out}" for c in table.columns for expr, out in col_sql[c.name].typed
    )
    text = "".join(f", n.{_id(c)} AS {_id('_v_' + c)}" for c in table.column_names)
    return f"SELECT n._rid, {typed}{text} FROM n"


def _harmonised_columns(table: Table) -> list[str]:
    """Landed columns from layer `k`: UTC instants, local dates, base-unit quantities."""
    out: list[str] = []
    for name in _output_names(table):
        col = next((c for c in table.columns if c.name == name), None)
        if name.endswith("_local_date") and col is None:
            at = _id(name.removesuffix("_local_date") + "__at")
            out.append(f"timezone(k._tz, k.{at})::DATE AS {_id(name)}")
        elif col is not None and col.type is T.TIMESTAMP:
            out.append(f"timezone('UTC', k.{_id(name + '__at')}) AS {_id(name)}")
        elif col is not None and col.type is T.QTY and table.has_uom:
            out.append(f"k.{_id(name)} * k.uom_factor AS {_id(name)}")
        else:
            out.append(f"k.{_id(name)}")
    return out


def _instants_layer(table: Table) -> str:
    """Layer `k`: each timestamp as an instant, from its offset or the row's zone (computed once)."""
    at = "".join(
        f", coalesce(j.{_id(c + '__instant')}, timezone(j._tz, j.{_id(c + '__naive')})) "
        f"AS {_id(c + '__at')}"
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
) -> str:
    """The shared layers n -> t -> j -> k -> h of both passes.

    Fast pass: `h` carries the harmonised columns and `_bad0`, a flag set by
    any column or reference check. Detail pass: `h` carries one reason column
    `_x<i>` per column and reference check, and the delivered text `_v_*`.
    """
    col_sql = {
        c.name: _column_sql(c, lambda n: f"t.{_id('_v_' + n)}", lambda n: f"t.{_id(n)}")
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
        j_cols += [f"{expr} AS {_id('_x' + str(i))}" for i, expr in enumerate(reasons)]
        h_extra = "".join(f", k.{_id('_x' + str(i))}" for i in range(len(reasons)))
        h_extra += "".join(f", k.{_id('_v_' + c)}" for c in table.column_names)
    else:
        raw_of, typed_of = (lambda n: f"t.{_id('_v_' + n)}"), (lambda n: f"t.{_id(n)}")
        conds = [f for c in table.columns for f in _suspects(c, raw_of(c.name), typed_of)]
        conds += [cond for cond, _, _ in joins.checks]
        j_cols.append(" OR ".join(f"coalesce({cond}, false)" for cond in conds) + " AS _bad0")
        h_extra = ", k._bad0"
    layer_j = f"SELECT {', '.join(j_cols)} FROM t {' '.join(joins.clauses)}"
    layer_h = f"SELECT k._rid, {', '.join(_harmonised_columns(table))}{h_extra} FROM k"
    return (
        f"WITH n AS ({_text_layer(table, present, where, source, rid)}),\n"
        f" t AS ({_typed_layer(table, col_sql)}),\n j AS ({layer_j}),\n"
        f" k AS ({_instants_layer(table)}),\n h AS ({layer_h})\n"
    )


def _check_columns(table: Table) -> list[str]:
    """The contract column each detail-pass reason `_x<i>` belongs to, in order."""
    col_sql = {c.name: _column_sql(c, str, str) for c in table.columns}
    names = [c.name for c in table.columns if col_sql[c.name].checks]
    return names + [col for _, _, col in _joins(table).checks]


# The message of the error a streamed fast pass raises at its first flagged row.
FLAGGED_ROW = "control-tower: a row is flagged, land the file through the raw table"


def build_checked_sql(table: Table, present: set[str], *, stream: str | None = None) -> str:
    """Fast pass over every row: `checked` with typed, harmonised columns and a `_bad` flag.

    `present` are the (normalised) column names the file delivered. The rows
    come from the temp table `raw` (`_rid` = its rowid), or with `stream`
    from that relation (a view over the file): then `_rid` is NULL, and the
    statement fails with FLAGGED_ROW at the first row the fast pass flags,
    so a file that is not clean costs only the rows read up to it.
    """
    row_bad = "".join(f" OR coalesce({cond}, false)" for cond, _, _ in _row_checks(table))
    final = ", ".join(f"h.{_id(n)}" for n in _output_names(table))
    bad = f"h._bad0{row_bad}"
    if stream is None:
        layers = _layers(table, present, detail=False)
    else:
        layers = _layers(table, present, detail=False, source=stream, rid="NULL::BIGINT")
        bad = f"CASE WHEN {bad} THEN error({_lit(FLAGGED_ROW)}) ELSE false END"
    return (
        "CREATE OR REPLACE TEMP TABLE checked AS\n"
        + layers
        + f"SELECT h._rid, {final}, {bad} AS _bad FROM h"
    )


def _with_values(reason: str, columns: tuple[str, ...]) -> str:
    """A row check's reason naming the values it compared, as delivered (layer `h`).

    E.g. "putaway_ts is before arrived_ts (putaway_ts '2026-03-08 05:00:00',
    arrived_ts '2026-03-08 06:00:00')".
    """
    shown = " || ', ' || ".join(
        f"{_lit(c + ' ')} || coalesce('''' || h.{_id('_v_' + c)} || '''', 'empty')" for c in columns
    )
    return f"{_lit(reason + ' (')} || {shown} || ')'"


def build_errors_sql(table: Table, present: set[str]) -> str:
    """Detail pass over the rows listed in temp table `bad_rids`: `row_errors(_rid, _errors)`.

    `_errors` lists {column, value, reason}: the first failing check of each
    column, each failing reference and each failing row-level check.
    """
    structs = [
        f"{{'column': {_lit(c)}, 'value': h.{_id('_v_' + c)}, 'reason': h.{_id('_x' + str(i))}}}"
        for i, c in enumerate(_check_columns(table))
    ] + [
        f"{{'column': {_lit(c)}, 'value': h.{_id('_v_' + c)}, "
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
    return pattern.sub(lambda m: f"{alias}.{_id(m.group(1))}", cond)
