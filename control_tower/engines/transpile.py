"""Governed SQL (DuckDB dialect) to Spark SQL, through sqlglot, with the rewrites that keep it exact.

The KPI definitions and exception rules are written once, in DuckDB's SQL, and
compiled as today. For Spark the compiled text is parsed by sqlglot, its
`$name` parameters are bound as typed literals, schema-qualified tables become
the names of the Spark views over the lake (`money.fx_daily` ->
`money__fx_daily`), and each construct sqlglot would carry over with another
meaning is rewritten by one of the functions in `REWRITES` or `kpi_rewrites` (each says which
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
    for rewrite in all_rewrites():
        tree = rewrite(tree, what)
    tree = rename_tables(tree, what)
    _check_functions(tree, what)
    try:
        return tree.sql(dialect=WRITE, unsupported_level=ErrorLevel.RAISE)
    except SqlglotError as exc:
        raise TranspileError(what, f"unsupported in Spark SQL: {exc}") from None


@functools.cache
def all_rewrites() -> tuple[Rewrite, ...]:
    """REWRITES with the KPI catalog's (engines.kpi_rewrites, which imports this module)
    around them: its DOUBLE division first, the others last."""
    from control_tower.engines import kpi_rewrites

    return (*kpi_rewrites.FIRST, *REWRITES, *kpi_rewrites.LAST)
