"""One contract column in SQL: its text check, typed value, harmonised value and reasons.

Used by `validate`, which assembles these per-column expressions into the
query that checks a whole file at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from control_tower.contracts import Column, ColumnType

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
CAST_TRIMMED = frozenset({T.INT, T.DECIMAL, T.QTY, T.RATE, T.DATE, T.TIMESTAMP})


# Types DuckDB's typed CSV reader casts as the checks here would, with dates read with
# `dateformat` '%Y-%m-%d' (see read_csv.typed_csv_stream). Every value it accepts, the cast
# below accepts with the same result, or it is out of the plausible date range (epoch,
# infinity), which the fast pass flags; what it refuses lands in its rejects table. Not
# typed by the reader: whole numbers (it takes 1e3, 0x10, 1_000 and rounds 1.5), timestamps
# (a naive value is local time of the row's location) and every code, id and text.
READER_TYPES = {
    T.DECIMAL: "DECIMAL(18,4)",
    T.QTY: "DECIMAL(18,4)",
    T.RATE: "DECIMAL(18,8)",
    T.DATE: "DATE",
}


TRUE_WORDS = ("true", "t", "yes", "y", "1")


FALSE_WORDS = ("false", "f", "no", "n", "0")


def sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def value_text(raw: str) -> str:
    """SQL quoting a delivered value for a message: 'abc'."""
    return "'''' || " + raw + " || ''''"


def utc_wall(instant: str) -> str:
    """SQL for an instant's UTC wall time (TIMESTAMP): its microseconds, no time zone lookup.

    The same value as timezone('UTC', instant), which goes through ICU and
    costs a conversion per row.
    """
    return f"make_timestamp(epoch_us({instant}))"


def message(*parts: str) -> str:
    """Concatenate SQL string expressions."""
    return " || ".join(parts)


def _fmt_num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _number_bounds(col: Column, typed: str, raw: str) -> list[tuple[str, str]]:
    checks = []
    got = message(sql_text(", got "), raw)
    if col.min_value is not None:
        op, word = ("<=", "greater than") if col.min_exclusive else ("<", "at least")
        bound = _fmt_num(col.min_value)
        checks.append(
            (f"{typed} {op} {bound}", message(sql_text(f"{col.name} must be {word} {bound}"), got))
        )
    if col.max_value is not None:
        bound = _fmt_num(col.max_value)
        checks.append(
            (f"{typed} > {bound}", message(sql_text(f"{col.name} must be at most {bound}"), got))
        )
    return checks


@dataclass
class ColumnSql:
    typed: list[tuple[str, str]]  # (expression over the text layer `n`, output name)
    checks: list[tuple[str, str]]  # (condition, reason) over the typed layer `t`; first match wins


def column_sql(
    col: Column,
    raw_of: Callable[[str], str],
    typed_of: Callable[[str], str],
    *,
    reader_typed: bool = False,
    offset_first: bool = False,
) -> ColumnSql:
    """Typed expression(s) and the ordered checks of one contract column.

    Typed expressions read the text layer `n`. Checks read the delivered text
    through `raw_of(column)` and typed values through `typed_of(output)`, so
    the same checks serve the fast pass (inline expressions, one flag per
    row) and the detail pass (one reason per failing column, bad rows only).
    `reader_typed`: the CSV reader delivered the column typed already
    (READER_TYPES), so its typed value is the layer's value as it is.
    `offset_first`: a timestamp column whose values likely carry an offset
    (the same values either way, only the order of the tests differs).
    """
    v = f"n.{ident(col.name)}"
    name = col.name
    out = ident(name)
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
        checks.append((missing, sql_text(f"missing value: {name} is required")))
    if kind in (T.ID, T.TEXT, T.TIMEZONE):
        typed = [(v, out)]
        if kind is T.ID:
            float_like = (
                f"CASE WHEN contains({raw}, '.') THEN regexp_full_match({raw}, "
                f"{sql_text(FLOAT_ID_RE)}) ELSE false END"
            )
            checks.append(
                (
                    float_like,
                    message(
                        value_text(raw),
                        sql_text(
                            f" looks like a float-formatted id; {name} must be delivered as the "
                            "source system writes it (725, not 725.0)"
                        ),
                    ),
                )
            )
            checks.append(
                (f"length({raw}) > 200", sql_text(f"{name} is longer than 200 characters"))
            )
        if kind is T.TIMEZONE:
            checks.append(
                (
                    f"{raw} IS NOT NULL AND {raw} NOT IN (SELECT name FROM _zones)",
                    message(
                        value_text(raw),
                        sql_text(
                            f" is not an IANA time zone name such as America/Chicago ({name})"
                        ),
                    ),
                )
            )
    elif kind is T.INT:
        # Digits, a sign and blanks only: DuckDB's cast also takes 1e3, 0x10, 0b101, 1_000.
        typed = [
            (
                f"CASE WHEN regexp_full_match({v}, {sql_text(INT_TEXT_RE)}) "
                f"THEN TRY_CAST({v} AS BIGINT) END",
                out,
            )
        ]
        checks.append(
            (
                invalid,
                message(value_text(raw), sql_text(f" is not a whole number ({name})")),
            )
        )
        checks += _number_bounds(col, tv, raw)
    elif kind in (T.DECIMAL, T.QTY, T.RATE):
        typed = [(f"TRY_CAST({v} AS {kind.sql_type})", out)]
        checks.append(
            (
                invalid,
                message(value_text(raw), sql_text(f" is not a number ({name})")),
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
                message(
                    value_text(raw),
                    f"CASE WHEN regexp_full_match(trim({raw}), {sql_text(DATE_RE)}) "
                    f"THEN {sql_text(f' is not a real calendar date ({name})')} "
                    f"ELSE {sql_text(f' is not a date in YYYY-MM-DD format ({name})')} END",
                ),
            ),
            (
                f"{tv} NOT BETWEEN DATE '{EARLIEST}' AND DATE '{LATEST}'",
                message(
                    value_text(raw),
                    sql_text(
                        f" is outside the plausible range {EARLIEST[:4]}-{LATEST[:4]} ({name})"
                    ),
                ),
            ),
        ]
    elif kind is T.TIMESTAMP:
        # An offset (Z, +hh, +hhmm, +hh:mm) after the time makes the value an instant; DuckDB's
        # TIMESTAMP cast would silently drop it, so the two kinds are cast separately.
        has_offset = f"regexp_matches({v}, {sql_text(OFFSET_TAIL_RE)})"
        # No letters but the T separator: DuckDB's TIMESTAMP cast silently drops any trailing
        # word, so '09:00:00 UTC', '09:00:00 CET' or '09:00:00 PM' would land as local 09:00.
        naive_shape = f"regexp_full_match({v}, {sql_text(NAIVE_TEXT_RE)})"
        # DuckDB refuses a lower-case z and a space before the offset, which the shape allows:
        # only values that fail the plain cast are respelled (coalesce is lazy).
        respelled = (
            f"regexp_replace(regexp_replace({v}, '\\s*[zZ]\\s*$', '+00:00'), "
            "'\\s+([+-][0-9]{2}(:?[0-9]{2})?)\\s*$', '\\1')"
        )
        as_naive = f"TRY_CAST({v} AS TIMESTAMP)"
        as_instant = f"coalesce(TRY_CAST({v} AS TIMESTAMPTZ), TRY_CAST({respelled} AS TIMESTAMPTZ))"
        # The two shapes exclude each other: the likelier one (`offset_first`) is tested first
        # and the other only where it fails (DuckDB evaluates a test both share once).
        if offset_first:
            naive = f"CASE WHEN {has_offset} THEN NULL WHEN {naive_shape} THEN {as_naive} END"
            instant = f"CASE WHEN {has_offset} THEN {as_instant} END"
        else:
            naive = f"CASE WHEN {naive_shape} THEN {as_naive} END"
            instant = f"CASE WHEN {naive_shape} THEN NULL WHEN {has_offset} THEN {as_instant} END"
        typed = [(naive, ident(name + "__naive")), (instant, ident(name + "__instant"))]
        t_naive, t_instant = typed_of(name + "__naive"), typed_of(name + "__instant")
        either = f"coalesce({t_naive}, {utc_wall(t_instant)})"
        checks += [
            (
                invalid,
                message(
                    value_text(raw),
                    f"CASE WHEN regexp_full_match(trim({raw}), {sql_text(NAIVE_TS_RE)}) "
                    f"OR regexp_full_match(trim({raw}), {sql_text(OFFSET_TS_RE)}) "
                    f"THEN {sql_text(f' is not a real date and time ({name})')} "
                    f"ELSE {sql_text(f' is not an ISO 8601 timestamp such as 2026-03-01T14:30:00 or 2026-03-01T14:30:00-06:00 ({name})')} END",
                ),
            ),
            (
                f"{either} NOT BETWEEN TIMESTAMP '{EARLIEST}' AND TIMESTAMP '{LATEST}'",
                message(
                    value_text(raw),
                    sql_text(
                        f" is outside the plausible range {EARLIEST[:4]}-{LATEST[:4]} ({name})"
                    ),
                ),
            ),
        ]
    elif kind is T.BOOL:
        whens = (
            " ".join(f"WHEN {sql_text(w)} THEN true" for w in TRUE_WORDS)
            + " "
            + " ".join(f"WHEN {sql_text(w)} THEN false" for w in FALSE_WORDS)
        )
        typed = [(f"CASE lower({v}) {whens} END", out)]
        checks.append(
            (
                f"{raw} IS NOT NULL AND {tv} IS NULL",
                message(value_text(raw), sql_text(f" is not true or false ({name})")),
            )
        )
    elif kind is T.ENUM:
        whens = " ".join(f"WHEN {sql_text(a.lower())} THEN {sql_text(a)}" for a in col.allowed)
        typed = [(f"CASE lower({v}) {whens} END", out)]
        checks.append(
            (
                f"{raw} IS NOT NULL AND {tv} IS NULL",
                message(
                    value_text(raw),
                    sql_text(f" is not a known {name} (expected one of: {', '.join(col.allowed)})"),
                ),
            )
        )
    elif kind is T.PERIOD:
        typed = [(f"CASE WHEN regexp_full_match({v}, {sql_text(PERIOD_RE)}) THEN {v} END", out)]
        checks.append(
            (
                f"{raw} IS NOT NULL AND {tv} IS NULL",
                message(value_text(raw), sql_text(f" is not a period in YYYY-MM format ({name})")),
            )
        )
    else:  # pragma: no cover - every ColumnType is handled above
        raise ValueError(f"unhandled column type {kind}")
    if reader_typed:
        typed = [(v, out)]
    return ColumnSql(typed, checks)


def suspects(
    col: Column, raw: str, typed_of: Callable[[str], str], *, reader_typed: bool = False
) -> list[str]:
    """Cheap conditions that hold for every row the column's checks would refuse (a superset).

    The fast pass flags rows with these; the detail pass then runs the exact
    checks on the flagged rows only, and a flagged row with no reason loads.
    A `reader_typed` column has no delivered text: a value the reader could not
    cast is in its rejects table, so NULL there means an empty value.
    """
    kind, name = col.type, col.name
    if kind is T.TIMESTAMP:
        naive, instant = typed_of(name + "__naive"), typed_of(name + "__instant")
        is_null = f"({naive} IS NULL AND {instant} IS NULL)"
        value = f"coalesce({naive}, {utc_wall(instant)})"
    else:
        is_null, value = f"{typed_of(name)} IS NULL", typed_of(name)
    if reader_typed:
        flags = [] if col.nullable else [is_null]
    else:
        flags = [is_null if not col.nullable else f"({raw} IS NOT NULL AND {is_null})"]
    if kind is T.ID:
        # strlen counts bytes, at least the characters length() counts: a cheaper superset.
        flags += [f"contains({raw}, '.')", f"strlen({raw}) > 200"]
    elif kind is T.TIMEZONE:
        flags.append(f"{raw} NOT IN (SELECT name FROM _zones)")
    elif kind in (T.INT, T.DECIMAL, T.QTY, T.RATE):
        if col.min_value is not None:
            flags.append(f"{value} {'<=' if col.min_exclusive else '<'} {_fmt_num(col.min_value)}")
        if col.max_value is not None:
            flags.append(f"{value} > {_fmt_num(col.max_value)}")
    elif kind is T.DATE:
        flags.append(f"{value} NOT BETWEEN DATE '{EARLIEST}' AND DATE '{LATEST}'")
    elif kind is T.TIMESTAMP:
        flags.append(f"{value} NOT BETWEEN TIMESTAMP '{EARLIEST}' AND TIMESTAMP '{LATEST}'")
    return flags
