"""Governed SQL (DuckDB dialect) to Spark SQL, through sqlglot, with the rewrites that keep it exact.

The KPI definitions and exception rules are written once, in DuckDB's SQL, and
compiled as today. For Spark the compiled text is parsed by sqlglot, its
`$name` parameters are bound as typed literals, schema-qualified tables become
the names of the Spark views over the lake (`money.fx_daily` ->
`money__fx_daily`), and each construct sqlglot would carry over with another
meaning is rewritten by one of the functions in `REWRITES` (each says which
DuckDB construct it maps and why the Spark form gives the same value). Then
sqlglot generates Spark SQL with unsupported constructs raised as errors, and
every function call left is checked against the functions Spark has
(`spark_functions.txt`, the output of `SHOW FUNCTIONS` on the pinned Spark).

Anything that does not transpile raises `TranspileError` naming the KPI or
rule and the construct; `control-tower engine check` lists them for the whole
catalog (the shipped catalog has none, a test holds it).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from importlib import resources
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError
from sqlglot.optimizer.qualify_columns import qualify_columns

READ = "duckdb"
WRITE = "spark"
# Schema of the warehouse's own (unqualified) tables.
MAIN_SCHEMA = "main"
# Separator of schema and table in a Spark view name (Spark temp views have no schema).
VIEW_SEPARATOR = "__"


class TranspileError(ValueError):
    """A governed query uses a construct that has no exact Spark SQL form."""

    def __init__(self, what: str, construct: str) -> None:
        super().__init__(f"{what}: {construct}")
        self.what = what
        self.construct = construct


def view_name(table: str) -> str:
    """The Spark view of a warehouse table: `fx_daily` in schema money -> `money__fx_daily`."""
    schema, _, name = table.rpartition(".")
    return name if schema in ("", MAIN_SCHEMA) else f"{schema}{VIEW_SEPARATOR}{name}"


@functools.cache
def spark_functions() -> frozenset[str]:
    """The built-in functions of the Spark release the product pins (lower case)."""
    text = resources.files(__package__).joinpath("spark_functions.txt").read_text()
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


# --- binding ---------------------------------------------------------------------------------


def literal(value: Any, what: str, name: str) -> exp.Expression:
    """A parameter value as a typed SQL literal."""
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, datetime):
        text = value.replace(tzinfo=None).isoformat(sep=" ")
        return exp.cast(exp.Literal.string(text), exp.DataType.build("TIMESTAMP"))
    if isinstance(value, date):
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.build("DATE"))
    if isinstance(value, (int, float, Decimal)):
        text = repr(value) if isinstance(value, float) else str(value)
        number = exp.Literal.number(text)
        # A float parameter stays a DOUBLE (DuckDB binds it so), not a Spark decimal literal.
        return (
            exp.cast(number, exp.DataType.build("DOUBLE")) if isinstance(value, float) else number
        )
    if isinstance(value, str):
        return exp.Literal.string(value)
    raise TranspileError(what, f"parameter ${name} has a {type(value).__name__} value")


def bind(tree: exp.Expression, params: Mapping[str, Any], what: str) -> exp.Expression:
    """Every `$name` replaced by its value as a literal."""

    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Placeholder) and node.name:
            if node.name not in params:
                raise TranspileError(what, f"parameter ${node.name} has no value")
            return literal(params[node.name], what, node.name)
        return node

    return tree.transform(swap)


# --- rewrites ----------------------------------------------------------------------------------
# Each takes the tree and `what`, returns the tree. They run in order, before generation.

Rewrite = Callable[[exp.Expression, str], exp.Expression]


def _call(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def _anonymous(node: exp.Expression, name: str) -> bool:
    return isinstance(node, exp.Anonymous) and node.name.lower() == name


def rename_tables(tree: exp.Expression, what: str) -> exp.Expression:
    """`schema.table` -> the Spark view `schema__table`; `main.table` -> `table`."""
    for table in list(tree.find_all(exp.Table)):
        if table.args.get("catalog"):
            raise TranspileError(what, f"table {table.sql(READ)} names a catalog")
        db = table.db
        if db:
            table.set("this", exp.to_identifier(view_name(f"{db}.{table.name}")))
            table.set("db", None)
    return tree


def scope_is_whole(tree: exp.Expression, what: str) -> exp.Expression:
    """`exc_in_scope(key)` (the incremental refresh's key filter) is true on a full run, the only
    kind an engine other than the warehouse's runs."""
    return tree.transform(lambda n: exp.true() if _anonymous(n, "exc_in_scope") else n)


def _micros(e: exp.Expression) -> exp.Expression:
    return _call("unix_micros", exp.cast(e, exp.DataType.build("TIMESTAMP")))


def epoch_seconds(tree: exp.Expression, what: str) -> exp.Expression:
    """DuckDB `epoch(ts)` is the seconds since 1970 with their fraction, `epoch(a - b)` the
    seconds between two timestamps; Spark's UNIX_TIMESTAMP (sqlglot's mapping) drops the
    fraction. Both become microseconds (exact integers) divided by 1e6, as DuckDB computes."""

    def swap(node: exp.Expression) -> exp.Expression:
        if not isinstance(node, exp.TimeToUnix) and not _anonymous(node, "epoch"):
            return node
        arg = node.this if isinstance(node, exp.TimeToUnix) else node.expressions[0]
        arg = arg.unnest() if isinstance(arg, exp.Paren) else arg
        if isinstance(arg, exp.Sub):
            micros = exp.Sub(this=_micros(arg.this), expression=_micros(arg.expression))
        else:
            micros = _micros(arg)
        return exp.Div(this=exp.paren(micros), expression=exp.Literal.number("1000000.0"))

    return tree.transform(swap)


def interval_constructors(tree: exp.Expression, what: str) -> exp.Expression:
    """DuckDB `to_minutes(n)`, `to_hours(n)`, `to_microseconds(n)` build a day-time interval;
    Spark's `make_dt_interval(days, hours, mins, secs)` builds the same one."""
    zero = exp.Literal.number(0)

    def swap(node: exp.Expression) -> exp.Expression:
        if not isinstance(node, exp.Anonymous):
            return node
        name = node.name.lower()
        if name not in ("to_minutes", "to_hours", "to_microseconds", "to_seconds"):
            return node
        (n,) = node.expressions
        if name == "to_hours":
            args = [zero, n, zero, zero]
        elif name == "to_minutes":
            args = [zero, zero, n, zero]
        else:
            secs = (
                n
                if name == "to_seconds"
                else exp.Div(
                    this=exp.cast(n, exp.DataType.build("DECIMAL(38, 6)")),
                    expression=exp.Literal.number(1000000),
                )
            )
            args = [zero, zero, zero, secs]
        return _call("make_dt_interval", *[a.copy() for a in args])

    return tree.transform(swap)


def local_to_utc(tree: exp.Expression, what: str) -> exp.Expression:
    """DuckDB `timezone('UTC', timezone(zone, local_ts))` reads a wall-clock time of `zone` and
    gives it in UTC: Spark's `to_utc_timestamp(local_ts, zone)`. Any other use of `timezone`
    depends on DuckDB's TIMESTAMPTZ and is refused."""

    def swap(node: exp.Expression) -> exp.Expression:
        if not _anonymous(node, "timezone"):
            return node
        outer_zone, inner = node.expressions
        if (
            isinstance(outer_zone, exp.Literal)
            and outer_zone.this == "UTC"
            and _anonymous(inner, "timezone")
        ):
            zone, local = inner.expressions
            return _call("to_utc_timestamp", local, zone)
        raise TranspileError(what, f"timezone() other than UTC of a local time: {node.sql(READ)}")

    return tree.transform(swap)


def _dateish(node: exp.Expression) -> bool:
    """Whether an expression is certainly a DATE (by its form: a cast to DATE, a date column by
    the contract's naming, or a function of those that keeps the type)."""
    node = node.unnest() if isinstance(node, exp.Paren) else node
    if isinstance(node, exp.Cast):
        return node.to.is_type(exp.DataType.Type.DATE)
    if isinstance(node, exp.Column):
        return node.name == "date" or node.name.endswith("_date")
    if isinstance(node, (exp.Coalesce, exp.Greatest, exp.Least)):
        return _dateish(node.this) and all(_dateish(e) for e in node.expressions)
    return isinstance(node, (exp.CurrentDate, exp.Date))


def date_difference(tree: exp.Expression, what: str) -> exp.Expression:
    """DuckDB `date_a - date_b` is the whole days between them (an integer); in Spark it is an
    interval. Both sides DATE -> `datediff(date_a, date_b)`, the same integer."""

    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Sub) and _dateish(node.this) and _dateish(node.expression):
            return exp.DateDiff(this=node.this, expression=node.expression, unit=exp.var("DAY"))
        return node

    return tree.transform(swap)


def exact_quantiles(tree: exp.Expression, what: str) -> exp.Expression:
    """DuckDB `quantile_cont(x, q)` and `median(x)` interpolate linearly between the two nearest
    values; Spark's `percentile(x, q)` does the same, exactly (not percentile_approx)."""

    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.PercentileCont) or _anonymous(node, "quantile_cont"):
            args = (
                [node.this, node.expression]
                if isinstance(node, exp.PercentileCont)
                else list(node.expressions)
            )
            return _call("percentile", *args)
        if isinstance(node, exp.Median):
            return _call("percentile", node.this, exp.Literal.number("0.5"))
        return node

    return tree.transform(swap)


def json_with_nulls(tree: exp.Expression, what: str) -> exp.Expression:
    """DuckDB `to_json(struct)` writes every field, NULL ones as null; Spark's to_json leaves
    NULL fields out unless told `ignoreNullFields` false."""

    def swap(node: exp.Expression) -> exp.Expression:
        if _anonymous(node, "to_json") and len(node.expressions) == 1:
            options = exp.Map(
                keys=exp.Array(expressions=[exp.Literal.string("ignoreNullFields")]),
                values=exp.Array(expressions=[exp.Literal.string("false")]),
            )
            return _call("to_json", node.expressions[0], options)
        return node

    return tree.transform(swap)


REWRITES: list[Rewrite] = [
    scope_is_whole,
    epoch_seconds,
    interval_constructors,
    local_to_utc,
    date_difference,
    exact_quantiles,
    json_with_nulls,
]


# --- star modifiers --------------------------------------------------------------------------


def expand_star_modifiers(
    tree: exp.Expression, schema: Mapping[str, Mapping[str, str]] | None, what: str
) -> exp.Expression:
    """`SELECT r.* REPLACE (...)` / `* EXCLUDE (...)`, which Spark lacks, expanded to the
    columns they stand for (from the query itself and the tables' `schema`)."""
    stars = [
        s
        for s in tree.find_all(exp.Star)
        if s.args.get("replace") or s.args.get("except") or s.args.get("rename")
    ]
    if not stars:
        return tree
    if schema is None:
        raise TranspileError(what, "SELECT * REPLACE/EXCLUDE needs the tables' columns")
    try:
        return qualify_columns(tree, schema=dict(schema), expand_stars=True, dialect=READ)
    except SqlglotError as exc:
        raise TranspileError(what, f"cannot expand * REPLACE/EXCLUDE: {exc}") from None


# --- the whole step ------------------------------------------------------------------------------


def _check_functions(tree: exp.Expression, what: str) -> None:
    known = spark_functions()
    for node in tree.find_all(exp.Anonymous):
        if node.name.lower() not in known:
            raise TranspileError(what, f"DuckDB function {node.name}() has no Spark equivalent")


def to_spark(
    sql: str,
    params: Mapping[str, Any] | None = None,
    *,
    what: str,
    schema: Mapping[str, Mapping[str, str]] | None = None,
) -> str:
    """Spark SQL for the governed `sql` with `params` bound; TranspileError names the construct.

    `schema` ({table: {column: type}}, tables as the SQL names them) lets `* REPLACE` be
    expanded."""
    try:
        tree = sqlglot.parse_one(sql, dialect=READ)
    except SqlglotError as exc:
        raise TranspileError(what, f"not parsed: {exc}") from None
    tree = expand_star_modifiers(tree, schema, what)
    tree = bind(tree, params or {}, what)
    for rewrite in REWRITES:
        tree = rewrite(tree, what)
    tree = rename_tables(tree, what)
    _check_functions(tree, what)
    try:
        return tree.sql(dialect=WRITE, unsupported_level=ErrorLevel.RAISE)
    except SqlglotError as exc:
        raise TranspileError(what, f"unsupported in Spark SQL: {exc}") from None


# --- KPI rewrites (models and value queries of the KPI catalog) ---------------------------------

_ASOF_NEXT = "_asof_bound"
_ASOF_OPS: dict[type[exp.Expression], tuple[str, type[exp.Expression]]] = {
    # right-side column <op> left-side expr -> (the right row's neighbour, when it is past left)
    exp.LTE: ("LEAD", exp.GT),  # the last right value <= left: no next one or it is > left
    exp.LT: ("LEAD", exp.GTE),  # the last right value < left: no next one or it is >= left
    exp.GTE: ("LAG", exp.LT),  # the first right value >= left: no previous one or it is < left
    exp.GT: ("LAG", exp.LTE),  # the first right value > left: no previous one or it is <= left
}


def _asof_parts(
    join: exp.Join, what: str
) -> tuple[list[exp.Column], exp.Column, type[exp.Expression], exp.Expression]:
    """The ASOF join's equality keys (right side's columns), its inequality's right column,
    operator (as right <op> left) and left expression."""
    alias = join.alias_or_name
    keys: list[exp.Column] = []
    inequality = None
    on = join.args.get("on")
    conds = list(on.flatten()) if isinstance(on, exp.And) else [on]
    flipped = {exp.LTE: exp.GTE, exp.LT: exp.GT, exp.GTE: exp.LTE, exp.GT: exp.LT}
    for cond in conds:
        if not isinstance(cond, (exp.EQ, *_ASOF_OPS)):
            raise TranspileError(what, f"ASOF join condition {cond.sql(READ)}")
        left, right = cond.this, cond.expression
        op: type[exp.Expression] = type(cond)
        if isinstance(right, exp.Column) and right.table == alias:
            left, right = right, left
            op = flipped.get(op, op)  # type: ignore[call-overload]
        if not (isinstance(left, exp.Column) and left.table == alias):
            raise TranspileError(what, f"ASOF join condition {cond.sql(READ)} (no joined column)")
        if op is exp.EQ:
            keys.append(left)
        elif inequality is None:
            inequality = (left, op, right)
        else:
            raise TranspileError(what, "ASOF join with two inequalities")
    if inequality is None:
        raise TranspileError(what, "ASOF join without an inequality")
    return keys, *inequality


def asof_join(tree: exp.Expression, what: str) -> exp.Expression:
    """DuckDB `l ASOF LEFT JOIN r ON r.k = l.k AND r.t <= l.t` matches each left row with the
    right row of the same keys whose `t` is the greatest not past `l.t` (NULLs never match).
    Spark has no ASOF join; the same match is a plain LEFT JOIN on the keys and `r.t <= l.t`
    with one more condition: the right row's next `t` among its keys (LEAD, over the rows
    with a `t`) is missing or past `l.t`, which only the greatest such row satisfies. Exact
    when the right side has one row per keys and `t` (a row per step, as the ASOF joins of
    the governed SQL read; among tied rows DuckDB's pick is arbitrary, here it is the last
    in LEAD order). `<`, `>=`, `>` likewise (LAG for the first row at or after); an inner
    ASOF JOIN becomes an inner JOIN the same way."""
    for join in list(tree.find_all(exp.Join)):
        if (join.args.get("method") or "").upper() != "ASOF":
            continue
        if join.side not in ("LEFT", ""):
            raise TranspileError(what, f"ASOF {join.side} JOIN")
        keys, column, op, left = _asof_parts(join, what)
        alias = join.alias_or_name
        select = join.parent
        if isinstance(select, exp.Select) and any(
            isinstance(e, exp.Star) for e in select.expressions
        ):
            raise TranspileError(what, "SELECT * over an ASOF join")
        func, past = _ASOF_OPS[op]
        inner_col = exp.column(column.name)
        window = exp.Window(
            this=exp.Anonymous(this=func, expressions=[inner_col.copy()]),
            partition_by=[exp.column(k.name) for k in keys] or None,
            order=exp.Order(expressions=[exp.Ordered(this=inner_col.copy(), nulls_first=False)]),
        )
        source = join.this.copy()
        source.set("alias", None)
        inner = (
            exp.select(exp.Star(), window.as_(_ASOF_NEXT))
            .from_(source)
            .where(exp.Not(this=exp.Is(this=inner_col.copy(), expression=exp.Null())))
        )
        bound = exp.column(_ASOF_NEXT, table=alias)
        extra = exp.or_(
            exp.Is(this=bound, expression=exp.Null()),
            past(this=bound.copy(), expression=left.copy()),
        )
        join.set("this", inner.subquery(alias))
        join.set("method", None)  # the side stays: an inner ASOF join drops unmatched rows too
        join.set("on", exp.and_(join.args["on"], exp.paren(extra)))
    return tree


def double_division(tree: exp.Expression, what: str) -> exp.Expression:
    """DuckDB's `/` of numbers is a DOUBLE division whatever the operand types (DECIMAL ones
    included: `x / 28.0` is a DOUBLE); Spark divides DECIMALs as DECIMAL rounded to 6 places.
    The dividend cast to DOUBLE makes Spark divide in DOUBLE too, the same IEEE quotient."""

    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Div) and not node.args.get("typed"):
            this = node.this
            if not (isinstance(this, exp.Cast) and this.to.is_type(exp.DataType.Type.DOUBLE)):
                node.set("this", exp.cast(this, exp.DataType.build("DOUBLE")))
        return node

    return tree.transform(swap)


# The division first: the `/` the other rewrites write (seconds from microseconds) are exact
# DECIMAL quotients on purpose.
REWRITES.insert(0, double_division)
REWRITES.append(asof_join)


def _sort_key(keys: list[exp.Ordered], what: str) -> tuple[str, exp.Expression]:
    """min_by/max_by and one struct key ordering rows as `ORDER BY keys` does (all the keys one
    direction; each key led by a flag putting its NULLs where the ORDER BY puts them)."""
    if len({bool(k.args.get("desc")) for k in keys}) != 1:
        raise TranspileError(what, "an ordered aggregate with mixed ASC/DESC keys")
    desc = bool(keys[0].args.get("desc"))
    fields: list[exp.Expression] = []
    for k in keys:
        # NULLs sort before the values under min_by when the flag is false for them.
        nulls_early = bool(k.args.get("nulls_first")) != desc
        flag = exp.Is(this=k.this.copy(), expression=exp.Null())
        fields += [exp.Not(this=flag) if nulls_early else flag, k.this.copy()]
    return ("max_by" if desc else "min_by"), _call("struct", *fields)


def ordered_first(tree: exp.Expression, what: str) -> exp.Expression:
    """DuckDB `first(x ORDER BY k1, k2)` is x of the first row in that order (NULL x included;
    `last` of the last row); Spark's `min_by(x, struct(k1 IS NULL, k1, k2 IS NULL, k2))` is x
    of the row with the smallest key, the flags placing NULL keys last as DuckDB's default
    (or first where the ORDER BY says so); DESC keys take max_by with the flags inverted. Exact
    when the keys order the rows fully (ties: either engine may pick any of the tied rows)."""

    def swap(node: exp.Expression) -> exp.Expression:
        if not isinstance(node, (exp.First, exp.Last)) or not isinstance(node.this, exp.Order):
            return node
        order = node.this
        keys = [k.copy() for k in order.expressions]
        if isinstance(node, exp.Last):  # the last row in an order is the first in the reverse
            for k in keys:
                k.set("desc", not k.args.get("desc"))
                k.set("nulls_first", not k.args.get("nulls_first"))
        func, key = _sort_key(keys, what)
        return _call(func, order.this.copy(), key)

    return tree.transform(swap)


def weekday_numbers(tree: exp.Expression, what: str) -> exp.Expression:
    """DuckDB `isodow(d)` is 1 (Monday) .. 7 (Sunday) and `dayofweek(d)` 0 (Sunday) .. 6;
    Spark's `weekday(d)` is 0 (Monday) .. 6 and `dayofweek(d)` 1 (Sunday) .. 7, so: `weekday(d)
    + 1` and `dayofweek(d) - 1`. (sqlglot's own mapping of isodow does not give ISO numbers.)"""

    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.DayOfWeekIso):
            return exp.paren(
                exp.Add(this=_call("weekday", node.this), expression=exp.Literal.number(1))
            )
        if isinstance(node, exp.DayOfWeek):
            return exp.paren(
                exp.Sub(this=_call("dayofweek", node.this), expression=exp.Literal.number(1))
            )
        return node

    return tree.transform(swap)


def _series_count(
    node: exp.Expression,
) -> tuple[exp.GenerateSeries, str, str, exp.Expression | None] | None:
    """(the series, its alias, its column, the WHERE) of `(SELECT count(*) FROM
    generate_series(...) AS g(d) [WHERE ...])`, else None."""
    select = node.this if isinstance(node, exp.Subquery) else None
    if not isinstance(select, exp.Select) or len(select.expressions) != 1:
        return None
    count = select.expressions[0]
    if not (isinstance(count, exp.Count) and isinstance(count.this, exp.Star)):
        return None
    if any(select.args.get(k) for k in ("joins", "group", "having", "with", "order", "limit")):
        return None
    source = select.args.get("from_") or select.args.get("from")
    table = source.this if source else None
    if not (isinstance(table, exp.Table) and isinstance(table.this, exp.GenerateSeries)):
        return None
    alias = table.args.get("alias")
    if not alias or len(alias.columns) != 1:
        return None
    where = select.args.get("where")
    return table.this, alias.name, alias.columns[0].name, where.this if where else None


def _positive(text: str) -> bool:
    try:
        return float(text) > 0
    except ValueError:
        return False


def series_count(tree: exp.Expression, what: str) -> exp.Expression:
    """DuckDB `(SELECT count(*) FROM generate_series(a, b, step) AS g(d) WHERE cond(g.d))`
    counts the values from a to b (both included) meeting cond: none when a > b or either is
    NULL. Spark: `CASE WHEN a <= b THEN size(filter(sequence(a, b, step), d -> cond(d)))
    ELSE 0 END` (sequence rejects a > b with a positive step, hence the CASE). Only for a
    positive step literal (a day, a number)."""

    def swap(node: exp.Expression) -> exp.Expression:
        parts = _series_count(node)
        if parts is None:
            return node
        series, alias, column, cond = parts
        step = series.args.get("step")
        amount = step.this if isinstance(step, exp.Interval) else step
        if (
            series.args.get("is_end_exclusive")
            or not isinstance(amount, exp.Literal)
            or not _positive(amount.name)
        ):
            shown = step.sql(READ) if step else "none"
            raise TranspileError(what, f"generate_series with a step that is not positive: {shown}")
        start, end = series.args["start"], series.args["end"]
        values = _call("sequence", start.copy(), end.copy(), step.copy())
        if cond is not None:
            var = exp.to_identifier(column)
            body = cond.copy().transform(
                lambda n: (
                    exp.column(column)
                    if isinstance(n, exp.Column) and n.name == column and n.table in ("", alias)
                    else n
                )
            )
            values = _call("filter", values, exp.Lambda(this=body, expressions=[var]))
        return exp.Case(
            ifs=[
                exp.If(
                    this=exp.LTE(this=start.copy(), expression=end.copy()),
                    true=_call("size", values),
                )
            ],
            default=exp.Literal.number(0),
        )

    return tree.transform(swap)


REWRITES += [ordered_first, weekday_numbers, series_count]
