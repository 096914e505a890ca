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
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from importlib import resources
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify

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
# Each takes the tree and the query's context, returns the tree. They run in order, before
# generation.

Schema = Mapping[str, Mapping[str, Mapping[str, str]]]  # {schema: {table: {column: type}}}


@dataclass(frozen=True)
class Context:
    """What a rewrite knows of the query: whose it is, and the tables' columns when known."""

    what: str
    schema: Schema | None = None


Rewrite = Callable[[exp.Expression, Context], exp.Expression]


def _call(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def _anonymous(node: exp.Expression, name: str) -> bool:
    return isinstance(node, exp.Anonymous) and node.name.lower() == name


def rename_tables(tree: exp.Expression, ctx: Context) -> exp.Expression:
    """`schema.table` -> the Spark view `schema__table`; `main.table` -> `table`."""
    for table in list(tree.find_all(exp.Table)):
        if table.args.get("catalog"):
            raise TranspileError(ctx.what, f"table {table.sql(READ)} names a catalog")
        db = table.db
        if db:
            table.set("this", exp.to_identifier(view_name(f"{db}.{table.name}")))
            table.set("db", None)
    return tree


def scope_is_whole(tree: exp.Expression, ctx: Context) -> exp.Expression:
    """`exc_in_scope(key)` (the incremental refresh's key filter) is true on a full run, the only
    kind an engine other than the warehouse's runs."""
    return tree.transform(lambda n: exp.true() if _anonymous(n, "exc_in_scope") else n)


def _micros(e: exp.Expression) -> exp.Expression:
    return _call("unix_micros", exp.cast(e, exp.DataType.build("TIMESTAMP")))


def epoch_seconds(tree: exp.Expression, ctx: Context) -> exp.Expression:
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


def interval_constructors(tree: exp.Expression, ctx: Context) -> exp.Expression:
    """DuckDB `to_days(n)`, `to_hours(n)`, `to_minutes(n)`, `to_seconds(n)`, `to_microseconds(n)`
    build a day-time interval;
    Spark's `make_dt_interval(days, hours, mins, secs)` builds the same one."""
    zero = exp.Literal.number(0)

    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.ToDays):
            return _call("make_dt_interval", node.this, zero.copy(), zero.copy(), zero.copy())
        if not isinstance(node, exp.Anonymous):
            return node
        name = node.name.lower()
        if name not in ("to_days", "to_hours", "to_minutes", "to_seconds", "to_microseconds"):
            return node
        (n,) = node.expressions
        if name == "to_days":
            args = [n, zero, zero, zero]
        elif name == "to_hours":
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


def local_to_utc(tree: exp.Expression, ctx: Context) -> exp.Expression:
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
        raise TranspileError(
            ctx.what, f"timezone() other than UTC of a local time: {node.sql(READ)}"
        )

    return tree.transform(swap)


def _typed(tree: exp.Expression, ctx: Context) -> exp.Expression | None:
    """A copy of the tree, qualified and annotated with types from the tables' columns (None
    when the columns are not known or a column cannot be resolved). A copy: the qualified
    text (every column aliased) trips Spark 4.3's optimizer on some queries."""
    if ctx.schema is None:
        return None
    try:
        typed = qualify(
            tree.copy(),
            schema={k: dict(v) for k, v in ctx.schema.items()},
            dialect=READ,
            db=MAIN_SCHEMA,
            quote_identifiers=False,
            validate_qualify_columns=False,
        )
        return annotate_types(typed, schema=dict(ctx.schema), dialect=READ)
    except SqlglotError:
        return None


def _is_date(node: exp.Expression) -> bool:
    return node.type is not None and node.type.is_type(exp.DataType.Type.DATE)


def date_difference(tree: exp.Expression, ctx: Context) -> exp.Expression:
    """DuckDB `date_a - date_b` is the whole days between them (an integer); in Spark it is an
    interval. Both sides DATE (by the types sqlglot infers from the tables' columns) ->
    `datediff(date_a, date_b)`, the same integer. A subtraction whose operands' types cannot
    be inferred is refused when either side could be a date."""
    typed = _typed(tree, ctx)
    if typed is None:
        for sub in tree.find_all(exp.Sub):
            if any(
                isinstance(s, exp.Cast) and s.to.is_type(exp.DataType.Type.DATE)
                for s in (sub.this, sub.expression)
            ):
                raise TranspileError(
                    ctx.what, f"cannot tell whether {sub.sql(READ)} subtracts dates (no schema)"
                )
        return tree

    # Qualifying adds no subtraction and drops none: the copy's k-th is the tree's k-th.
    subs, typed_subs = list(tree.find_all(exp.Sub)), list(typed.find_all(exp.Sub))
    if len(subs) != len(typed_subs):
        raise TranspileError(ctx.what, "cannot match date subtractions to their types")
    for sub, typed_sub in zip(subs, typed_subs, strict=True):
        if _is_date(typed_sub.this) and _is_date(typed_sub.expression):
            diff = exp.DateDiff(this=sub.this, expression=sub.expression, unit=exp.var("DAY"))
            if sub is tree:
                tree = diff
            else:
                sub.replace(diff)
    return tree


def exact_quantiles(tree: exp.Expression, ctx: Context) -> exp.Expression:
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


def json_with_nulls(tree: exp.Expression, ctx: Context) -> exp.Expression:
    """DuckDB `to_json(struct)` writes every field, NULL ones as null; Spark's to_json leaves
    NULL fields out unless told `ignoreNullFields` false."""

    def swap(node: exp.Expression) -> exp.Expression:
        if _anonymous(node, "to_json") and len(node.expressions) == 1:
            options = _call(
                "map", exp.Literal.string("ignoreNullFields"), exp.Literal.string("false")
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


def expand_star_modifiers(tree: exp.Expression, ctx: Context) -> exp.Expression:
    """`SELECT r.* REPLACE (...)` / `* EXCLUDE (...)`, which Spark lacks, expanded to the
    columns they stand for (from the query itself and the tables' `schema`)."""
    stars = [
        s
        for s in tree.find_all(exp.Star)
        if any(s.args.get(k) for k in ("replace", "except", "except_", "rename"))
    ]
    if not stars:
        return tree
    if ctx.schema is None:
        raise TranspileError(ctx.what, "SELECT * REPLACE/EXCLUDE needs the tables' columns")
    try:
        # The whole query qualified (not only the stars expanded): a half-qualified tree
        # leaves Spark columns it cannot resolve.
        return qualify(
            tree,
            schema={k: dict(v) for k, v in ctx.schema.items()},
            dialect=READ,
            db=MAIN_SCHEMA,
            quote_identifiers=False,
            validate_qualify_columns=False,
        )
    except SqlglotError as exc:
        raise TranspileError(ctx.what, f"cannot expand * REPLACE/EXCLUDE: {exc}") from None


# --- the whole step ------------------------------------------------------------------------------


# Calls in Spark SQL that are syntax rather than functions of SHOW FUNCTIONS.
SPARK_SYNTAX = frozenset({"cast", "try_cast", "extract", "struct"})
_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\(")


def _check_functions(tree: exp.Expression, what: str) -> None:
    """Every function call, as Spark SQL will name it, is one Spark has."""
    known = spark_functions() | SPARK_SYNTAX
    for node in tree.find_all(exp.Func):
        if isinstance(node, (exp.Cast, exp.Case, exp.If, exp.Paren, exp.Interval)):
            continue
        if isinstance(node, exp.Anonymous):
            name = node.name
        else:
            match = _CALL.match(node.sql(dialect=WRITE))
            if match is None:
                continue  # an operator or keyword form (a BETWEEN, a || concatenation)
            name = match.group(1)
        if name.lower() not in known:
            duck = _CALL.match(node.sql(dialect=READ))
            raise TranspileError(
                what, f"DuckDB function {duck.group(1) if duck else name}() has no Spark equivalent"
            )


def to_spark(
    sql: str,
    params: Mapping[str, Any] | None = None,
    *,
    what: str,
    schema: Schema | None = None,
) -> str:
    """Spark SQL for the governed `sql` with `params` bound; TranspileError names the construct.

    `schema` ({schema: {table: {column: type}}}, the warehouse's tables under `main`) lets
    `* REPLACE` be expanded and date arithmetic be told from number arithmetic."""
    ctx = Context(what, schema)
    try:
        tree = sqlglot.parse_one(sql, dialect=READ)
    except SqlglotError as exc:
        raise TranspileError(what, f"not parsed: {exc}") from None
    tree = expand_star_modifiers(tree, ctx)
    tree = bind(tree, params or {}, what)
    for rewrite in all_rewrites():
        tree = rewrite(tree, ctx)
    tree = rename_tables(tree, ctx)
    _check_functions(tree, what)
    try:
        return tree.sql(dialect=WRITE, unsupported_level=ErrorLevel.RAISE)
    except SqlglotError as exc:
        raise TranspileError(what, f"unsupported in Spark SQL: {exc}") from None


def schema_of(con: Any) -> dict[str, dict[str, dict[str, str]]]:
    """The columns of every table of a DuckDB database, as `to_spark` takes them."""
    rows = con.execute(
        "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = current_database() ORDER BY table_schema, table_name, ordinal_position"
    ).fetchall()
    out: dict[str, dict[str, dict[str, str]]] = {}
    for schema, table, column, kind in rows:
        out.setdefault(schema, {}).setdefault(table, {})[column] = kind
    return out


@functools.cache
def all_rewrites() -> tuple[Rewrite, ...]:
    """REWRITES with the KPI catalog's (engines.kpi_rewrites, which imports this module)
    around them: its DOUBLE division first, the others last."""
    from control_tower.engines import kpi_rewrites

    return (*kpi_rewrites.FIRST, *REWRITES, *kpi_rewrites.LAST)
