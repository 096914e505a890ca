"""Compile a KPI definition to DuckDB SQL through a sqlglot AST.

The model's trusted SELECT becomes a CTE; around it the compiler builds, as
an AST, the KPI query: dimensions, period (the time dimension truncated to
day, week or month), aggregated measures, the value (a ratio is
sum(numerator) / sum(denominator) at the asked grain, never an average of
ratios), companion figures. Every caller-supplied value (as_of, filter values,
parameter overrides) is a bound `$parameter`; dimensions are checked against
the definition's allowed list. Provenance comments head the SQL.

A query computed from the landed tables inlines the models it reads as CTEs,
then prunes them to what it uses (`prune_query`): projections no measure,
companion, time dimension, asked dimension or filter reads are dropped, then
the LEFT JOINs and CTEs that only fed them (a LEFT JOIN goes only when it
matches at most one row: a landed table joined on its whole contract key, or
a derived table joined on all its GROUP BY / DISTINCT outputs, so no row is
added or lost). A model the pruner cannot fully resolve is inlined whole.
Compiled SQL is cached by the shape of the query (every caller value is a
bound parameter, so the text does not depend on them).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.eliminate_ctes import eliminate_ctes
from sqlglot.optimizer.eliminate_joins import eliminate_joins, join_condition
from sqlglot.optimizer.pushdown_projections import pushdown_projections
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import traverse_scope

from control_tower.contracts import TABLES
from control_tower.kpi.catalog import Companion, Kpi, Measure
from control_tower.storage.schema import landed_columns

GRAINS = ("day", "week", "month")
DIALECT = "duckdb"
# Columns of every landed table, so the pruner can expand `SELECT *` and resolve each column.
LANDED_SCHEMA = {name: dict(landed_columns(t)) for name, t in TABLES.items()}
CACHE_SIZE = 512  # compiled query shapes kept
# DuckDB functions sqlglot does not know (so must assume may return a set of rows) that are
# scalar: a projection calling them can be pruned.
SCALAR_FUNCTIONS = frozenset({"timezone", "to_minutes", "to_microseconds"})


class CompileError(ValueError):
    """The asked query is not allowed by the KPI's definition."""


@dataclass(frozen=True)
class CompiledQuery:
    """SQL with its bound parameters and what it reads and returns."""

    kpi: Kpi
    sql: str
    params: dict[str, Any]
    columns: tuple[str, ...]
    tables: tuple[str, ...]


def _parse(sql: str) -> exp.Expression:
    return sqlglot.parse_one(sql, dialect=DIALECT)


@functools.lru_cache(maxsize=64)
def _parsed_model(sql: str) -> exp.Expression:
    return _parse(sql)


def _model_tree(sql: str) -> exp.Expression:
    """A model's SELECT as a fresh tree (parsed once per process)."""
    return _parsed_model(sql).copy()


def _double(e: exp.Expression) -> exp.Expression:
    return exp.cast(e, exp.DataType.build("DOUBLE"))


def aggregate(m: Measure) -> exp.Expression:
    """The aggregate expression of one measure (as DOUBLE)."""
    arg = _parse(m.expr)
    if m.agg == "count_distinct":
        agg: exp.Expression = exp.Count(this=exp.Distinct(expressions=[arg]))
    elif m.agg == "quantile":
        agg = exp.func("quantile_cont", arg, exp.Literal.number(m.quantile), dialect=DIALECT)
    elif m.agg == "median":
        agg = exp.func("median", arg, dialect=DIALECT)
    else:
        agg = exp.func(m.agg.upper(), arg, dialect=DIALECT)
    return _double(agg)


def _value(measures: Mapping[str, Measure], kind: str, expr: str | None) -> exp.Expression:
    aggs = {name: aggregate(m) for name, m in measures.items()}
    if kind == "ratio":
        return exp.Div(
            this=aggs["numerator"],
            expression=exp.func("NULLIF", aggs["denominator"], exp.Literal.number(0)),
        )
    if kind == "derived":
        assert expr is not None

        def swap(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Column) and node.name in aggs:
                return aggs[node.name].copy()
            if isinstance(node, exp.Div):  # a derived formula never divides by zero into an error
                node.set("expression", exp.func("NULLIF", node.expression, exp.Literal.number(0)))
            return node

        return exp.paren(_parse(expr).transform(swap), copy=False)
    return aggs["value"]


def _selects(kpi: Kpi, companions: bool = True) -> list[exp.Expression]:
    """numerator, denominator (when the KPI has them), value, then each companion (if asked)."""
    out: list[exp.Expression] = []
    if kpi.is_ratio:
        out += [aggregate(kpi.measures["numerator"]).as_("numerator")]
        out += [aggregate(kpi.measures["denominator"]).as_("denominator")]
    out.append(_value(kpi.measures, kpi.type, kpi.expr).as_("value"))
    for comp in kpi.companions.values() if companions else ():
        out.append(_companion(comp).as_(comp.name))
    return out


def _companion(comp: Companion) -> exp.Expression:
    return _value(comp.measures, comp.type, comp.expr)


def period_expr(column: str, grain: str) -> exp.Expression:
    """The period a row falls in: its local day, or the Monday / first of month of it."""
    col = exp.column(column)
    if grain == "day":
        return exp.cast(col, exp.DataType.build("DATE"))
    return exp.cast(
        exp.func("date_trunc", exp.Literal.string(grain), col, dialect=DIALECT),
        exp.DataType.build("DATE"),
    )


def bind_parameters(kpi: Kpi, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The KPI's parameters: defaults, replaced by overrides of known names (type-checked)."""
    values = {name: p.default for name, p in kpi.parameters.items()}
    for name, raw in overrides.items():
        if name not in kpi.parameters:
            raise CompileError(
                f"KPI {kpi.name} has no parameter {name!r} "
                f"(it has: {', '.join(kpi.parameters) or 'none'})"
            )
        kind = kpi.parameters[name].type
        try:
            values[name] = (
                Decimal(str(raw))
                if kind == "decimal"
                else int(raw)
                if kind == "integer"
                else float(raw)
            )
        except (ArithmeticError, ValueError, TypeError):
            raise CompileError(f"parameter {name}={raw!r} is not a {kind}") from None
    return values


def _check_dims(kpi: Kpi, dims: Sequence[str], what: str) -> None:
    for dim in dims:
        if dim not in kpi.dimensions:
            raise CompileError(
                f"KPI {kpi.name} cannot be {what} {dim!r}; allowed dimensions: "
                f"{', '.join(kpi.dimensions) or 'none'}"
            )


def _filters(
    kpi: Kpi, where: Mapping[str, str | Sequence[str]], params: dict[str, Any]
) -> list[exp.Expression]:
    _check_dims(kpi, list(where), "filtered by")
    conds: list[exp.Expression] = []
    for dim, value in where.items():
        col = exp.cast(exp.column(dim), exp.DataType.build("VARCHAR"))
        values = [value] if isinstance(value, str) else list(value)
        holders = []
        for i, v in enumerate(values):
            key = f"filter_{dim}_{i}"
            params[key] = str(v)
            holders.append(exp.Placeholder(this=key))
        conds.append(col.eq(holders[0]) if len(holders) == 1 else col.isin(*holders))
    return conds


def _rows_query(
    kpi: Kpi,
    source: exp.Expression,
    grain: str | None,
    conds: Sequence[exp.Expression],
    partition: Sequence[str],
) -> exp.Select:
    """The model's rows up to as_of, filtered, with their period (and last-snapshot marker)."""
    rows = exp.select(exp.Star()).from_(source)
    if grain:
        rows = rows.select(period_expr(kpi.time_dimension, grain).as_("period"))
    semi = next((m for m in kpi.measures.values() if m.non_additive_dimension), None)
    nad = semi.non_additive_dimension if semi else None
    if semi and nad:
        # Semi-additive: keep only the last snapshot (that carries the measure) of each group.
        parts = [exp.column(d) for d in partition] + (
            [period_expr(kpi.time_dimension, grain)] if grain else []
        )
        last = exp.Case().when(
            exp.Not(this=exp.Is(this=_parse(semi.expr), expression=exp.Null())), exp.column(nad)
        )
        window = exp.Window(this=exp.Max(this=last), partition_by=parts or None)
        rows = rows.select(window.as_("_last_snapshot"))
    rows = rows.where(exp.column(kpi.time_dimension) <= exp.Placeholder(this="as_of"))
    for cond in conds:
        rows = rows.where(cond)
    if nad:
        inner = rows.subquery("_rows")
        rows = (
            exp.select(exp.Star())
            .from_(inner)
            .where(exp.column(nad).eq(exp.column("_last_snapshot")))
        )
    return rows


def _header(
    kpi: Kpi,
    grain: str | None,
    by: Sequence[str],
    where: Mapping[str, Any],
    inlined: str | None = None,
) -> str:
    params = ", ".join(["as_of", *kpi.parameters])
    lines = [
        f"-- kpi: {kpi.name} v{kpi.version} ({kpi.status}, content {kpi.content_hash[:12]})",
        f"-- model: {kpi.model.name} ({kpi.model.grain}); reads: {', '.join(kpi.model.tables)}",
        f"-- type: {kpi.type}; time dimension: {kpi.time_dimension}",
        f"-- parameters (bound): {params}",
        f"-- grain: {grain or 'all history to as_of'}; by: {', '.join(by) or '-'}; "
        f"filters: {', '.join(where) or '-'}",
    ]
    if inlined:
        lines.append(f"-- models inlined: {inlined}")
    return "\n".join(lines) + "\n"


def _finish(
    kpi: Kpi, tree: exp.Select, header: str, params: dict[str, Any], pretty: bool
) -> tuple[str, dict[str, Any]]:
    used = {p.name for p in tree.find_all(exp.Placeholder)}
    return header + tree.sql(dialect=DIALECT, pretty=pretty), {
        k: v for k, v in params.items() if k in used
    }


def _fully_qualified(tree: exp.Expression) -> bool:
    """Every column names its source and no `*` is left (else the pruner cannot see uses)."""
    order = tree.args.get("order")
    outer_order = {id(c) for c in order.find_all(exp.Column)} if order else set()
    if any(not c.table and id(c) not in outer_order for c in tree.find_all(exp.Column)):
        return False
    return tree.find(exp.Star) is None


def _own_columns(select: exp.Expression) -> Iterator[exp.Column]:
    """The columns of a SELECT and of the queries nested in it, but not of its own CTEs."""
    for key, value in select.args.items():
        if key in ("with", "with_"):
            continue
        for node in value if isinstance(value, list) else [value]:
            if isinstance(node, exp.Expression):
                yield from node.find_all(exp.Column)


def _drop_keyed_joins(tree: exp.Expression) -> None:
    """Drop LEFT JOINs of a landed table on its whole key whose columns nothing reads.

    The landed tables are unique on their contract key (landing quarantines
    duplicate keys and upserts by key), so such a join matches at most one row:
    dropping it neither adds nor loses a row. DuckDB does not do this itself.
    """
    for scope in traverse_scope(tree):
        for join in reversed(scope.expression.args.get("joins") or []):
            table = join.this
            if (
                join.side != "LEFT"
                or join.kind not in ("", "OUTER")
                or join.args.get("method")
                or join.args.get("using")
                or not isinstance(table, exp.Table)
                or table.catalog
                or table.db not in ("", "main")
                or table.name not in TABLES
            ):
                continue
            alias = join.alias_or_name
            on = join.args.get("on")
            in_on = {id(c) for c in on.find_all(exp.Column)} if on else set()
            # Any column of that alias outside the ON clause, nested queries included, keeps it.
            if any(c.table == alias and id(c) not in in_on for c in _own_columns(scope.expression)):
                continue
            _, keys, _ = join_condition(join)
            joined_on = {k.name for k in keys if isinstance(k, exp.Column) and k.table == alias}
            if set(TABLES[table.name].key) <= joined_on:
                join.pop()
                scope.remove_source(alias)


class _ScalarCall(exp.Expression, exp.Func):
    """A call of one of SCALAR_FUNCTIONS while pruning (then an Anonymous call again)."""

    arg_types: ClassVar[dict[str, bool]] = {"this": True, "expressions": False}
    is_var_len_args = True


def _mark_scalar(tree: exp.Expression) -> None:
    for node in list(tree.find_all(exp.Anonymous)):
        if node.name.lower() in SCALAR_FUNCTIONS:
            node.replace(_ScalarCall(this=node.this, expressions=node.expressions))


def _unmark_scalar(tree: exp.Expression) -> None:
    for node in list(tree.find_all(_ScalarCall)):
        node.replace(exp.Anonymous(this=node.this, expressions=node.expressions))


def prune_query(query: exp.Select) -> exp.Select | None:
    """The query with its inlined models cut to what it uses; None if that cannot be done safely.

    Qualifies every column against the landed schema (expanding `SELECT *`),
    drops projections nothing downstream reads (sqlglot keeps GROUP BY ALL
    keys, DISTINCT and set-operation columns), then unused unique LEFT JOINs
    and CTEs. A query with a column it cannot resolve (a table outside the
    contract, a correlated table function) is left whole.
    """
    try:
        tree = qualify(
            query.copy(),
            schema=LANDED_SCHEMA,
            dialect=DIALECT,
            quote_identifiers=False,
            validate_qualify_columns=False,
        )
        if not isinstance(tree, exp.Select) or not _fully_qualified(tree):
            return None
        _mark_scalar(tree)
        tree = pushdown_projections(tree)
        _drop_keyed_joins(tree)
        tree = eliminate_joins(tree)
        tree = pushdown_projections(tree)  # what only the dropped joins read
        tree = eliminate_ctes(tree)
        _unmark_scalar(tree)
    except sqlglot.errors.SqlglotError:
        return None
    return tree if isinstance(tree, exp.Select) else None


_SQL_CACHE: dict[tuple[Any, ...], tuple[str, frozenset[str]]] = {}
_SQL_CACHE_LOCK = threading.Lock()


def _measures_key(measures: Mapping[str, Measure]) -> tuple[Any, ...]:
    return tuple(sorted(measures.items()))


def _kpi_key(kpi: Kpi) -> tuple[Any, ...]:
    """Everything of a KPI its compiled SQL depends on."""
    return (
        kpi.name,
        kpi.version,
        kpi.status,
        kpi.content_hash,
        kpi.type,
        kpi.expr,
        kpi.time_dimension,
        kpi.dimensions,
        tuple(kpi.parameters),
        _measures_key(kpi.measures),
        tuple((c.name, c.type, c.expr, _measures_key(c.measures)) for c in kpi.companions.values()),
        (kpi.model.name, kpi.model.grain, kpi.model.tables),
        tuple((m.name, m.sql) for m in kpi.chain),
    )


def _cached_sql(
    key: tuple[Any, ...], build: Callable[[], tuple[str, frozenset[str]]]
) -> tuple[str, frozenset[str]]:
    with _SQL_CACHE_LOCK:
        hit = _SQL_CACHE.get(key)
    if hit is None:
        hit = build()
        with _SQL_CACHE_LOCK:
            if len(_SQL_CACHE) >= CACHE_SIZE:
                del _SQL_CACHE[next(iter(_SQL_CACHE))]  # the oldest shape
            _SQL_CACHE[key] = hit
    return hit


def compile_kpi(
    kpi: Kpi,
    *,
    as_of: date,
    grain: str | None = None,
    by: Sequence[str] = (),
    where: Mapping[str, str | Sequence[str]] | None = None,
    parameters: Mapping[str, Any] | None = None,
    source: str | None = None,
    pretty: bool = True,
    companions: bool = True,
    prune: bool = True,
) -> CompiledQuery:
    """SQL for one KPI at a grain, by dimensions, filtered; `source` reads a pre-built model table.

    `companions=False` leaves the companion figures out; `prune=False` inlines
    the models whole (the pruned query returns the same rows).
    """
    where = dict(where or {})
    if grain is not None and grain not in GRAINS:
        raise CompileError(f"grain {grain!r} is not one of: {', '.join(GRAINS)}")
    _check_dims(kpi, by, "grouped by")
    if len(set(by)) != len(by):
        raise CompileError(f"dimension listed twice in by: {', '.join(by)}")
    params: dict[str, Any] = {"as_of": as_of, **bind_parameters(kpi, parameters or {})}
    filter_params: dict[str, Any] = {}
    conds = _filters(kpi, where, filter_params)  # checks the dimensions, binds the values
    params.update(filter_params)

    def build() -> tuple[str, frozenset[str]]:
        model = kpi.model.name
        src: exp.Expression = exp.to_table(source) if source else exp.to_table(model)
        rows = _rows_query(kpi, src, grain, conds, by)
        keys = [exp.column(d) for d in by] + ([exp.column("period")] if grain else [])
        query = exp.select(*keys, *_selects(kpi, companions)).from_(rows.subquery("kpi_rows"))
        if keys:
            query = query.group_by(*keys).order_by(*[k.copy() for k in keys])
        inlined = None
        if not source:
            for m in kpi.chain:
                query = query.with_(m.name, as_=_model_tree(m.sql))
            pruned = prune_query(query) if prune else None
            names = ", ".join(m.name for m in kpi.chain)
            if pruned is not None:
                query, inlined = pruned, f"{names}, pruned to the columns this query reads"
            else:
                inlined = f"{names}, whole"
        header = _header(kpi, grain, by, where, inlined)
        used = frozenset(p.name for p in query.find_all(exp.Placeholder))
        return header + query.sql(dialect=DIALECT, pretty=pretty), used

    shape = tuple((d, 1 if isinstance(v, str) else len(v)) for d, v in where.items())
    key = (_kpi_key(kpi), grain, tuple(by), shape, source, pretty, companions, prune)
    sql, used = _cached_sql(key, build)
    columns = (*by, *(("period",) if grain else ()), *output_measures(kpi, companions))
    bound = {k: v for k, v in params.items() if k in used}
    return CompiledQuery(kpi, sql, bound, columns, kpi.model.tables)


def output_measures(kpi: Kpi, companions: bool = True) -> tuple[str, ...]:
    """The figure columns a compiled KPI query returns, after its keys."""
    ratio = ("numerator", "denominator") if kpi.is_ratio else ()
    return (*ratio, "value", *(kpi.companions if companions else ()))


def compile_grouping_sets(
    kpi: Kpi,
    *,
    as_of: date,
    source: str,
    grain: str = "day",
    dimensions: Sequence[str] | None = None,
) -> CompiledQuery:
    """One query for the KPI by period overall and by each dimension (GROUPING SETS).

    Returns columns dimension ('ALL' or its name), dimension_value, period,
    then the figures. Used by materialisation over a pre-built model table.
    """
    if any(m.non_additive_dimension for m in kpi.measures.values()):
        raise CompileError("semi-additive KPIs need one query per dimension")
    dims = list(kpi.dimensions if dimensions is None else dimensions)
    _check_dims(kpi, dims, "grouped by")
    params: dict[str, Any] = {"as_of": as_of}
    rows = _rows_query(kpi, exp.to_table(source), grain, [], [])
    period = exp.column("period")
    sets = [exp.Tuple(expressions=[period.copy()])] + [
        exp.Tuple(expressions=[period.copy(), exp.column(d)]) for d in dims
    ]
    name_case = exp.Case()
    value_case = exp.Case()
    for d in dims:
        cond = exp.func("GROUPING", exp.column(d)).eq(0)
        name_case = name_case.when(cond, exp.Literal.string(d))
        value_case = value_case.when(
            cond.copy(), exp.cast(exp.column(d), exp.DataType.build("VARCHAR"))
        )
    name_case = name_case.else_(exp.Literal.string("ALL"))
    value_case = value_case.else_(exp.Literal.string("ALL"))
    query = exp.select(
        name_case.as_("dimension"), value_case.as_("dimension_value"), period.copy(), *_selects(kpi)
    ).from_(rows.subquery("kpi_rows"))
    query.set("group", exp.Group(grouping_sets=[exp.GroupingSets(expressions=sets)]))
    sql, bound = _finish(kpi, query, _header(kpi, grain, ["<each>"], {}), params, pretty=False)
    columns = ("dimension", "dimension_value", "period", *output_measures(kpi))
    return CompiledQuery(kpi, sql, bound, columns, kpi.model.tables)


def model_query(
    kpi: Kpi,
    *,
    as_of: date,
    parameters: Mapping[str, Any] | None = None,
    tables: Mapping[str, str] | None = None,
) -> tuple[str, dict[str, Any]]:
    """The model's SQL with the KPI's bound parameters (to build a model table once).

    `tables` maps models already built to their table names; the models the
    model uses are read from there, or inlined as CTEs.
    """
    params = {"as_of": as_of, **bind_parameters(kpi, parameters or {})}
    tables = tables or {}
    tree = _parse(kpi.model.sql)
    built = {name: exp.to_table(t) for name, t in tables.items()}
    if built:
        tree = tree.transform(
            lambda n: (
                built[n.name].copy()
                if isinstance(n, exp.Table) and not n.db and n.name in built
                else n
            )
        )
    deps = [m for m in kpi.chain[:-1] if m.name not in built]
    if deps:
        tree = exp.select(exp.Star()).from_(tree.subquery(kpi.model.name))
        for m in deps:
            tree = tree.with_(m.name, as_=_parse(m.sql))
    used = {p.name for p in tree.find_all(exp.Placeholder)}
    return tree.sql(dialect=DIALECT), {k: v for k, v in params.items() if k in used}
