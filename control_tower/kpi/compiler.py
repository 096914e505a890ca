"""Compile a KPI definition to DuckDB SQL through a sqlglot AST.

The model's trusted SELECT becomes a CTE; around it the compiler builds, as
an AST, the KPI query: dimensions, period (the time dimension truncated to
day, week or month), aggregated measures, the value (a ratio is
sum(numerator) / sum(denominator) at the asked grain, never an average of
ratios), companion figures. Every caller-supplied value (as_of, filter values,
parameter overrides) is a bound `$parameter`; dimensions are checked against
the definition's allowed list. Provenance comments head the SQL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlglot
from sqlglot import exp

from control_tower.kpi.catalog import Companion, Kpi, Measure

GRAINS = ("day", "week", "month")
DIALECT = "duckdb"


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


def _selects(kpi: Kpi) -> list[exp.Expression]:
    """numerator, denominator (when the KPI has them), value, then each companion."""
    out: list[exp.Expression] = []
    if kpi.is_ratio:
        out += [aggregate(kpi.measures["numerator"]).as_("numerator")]
        out += [aggregate(kpi.measures["denominator"]).as_("denominator")]
    out.append(_value(kpi.measures, kpi.type, kpi.expr).as_("value"))
    for comp in kpi.companions.values():
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
    where: Mapping[str, str | Sequence[str]],
    params: dict[str, Any],
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
    for cond in _filters(kpi, where, params):
        rows = rows.where(cond)
    if nad:
        inner = rows.subquery("_rows")
        rows = (
            exp.select(exp.Star())
            .from_(inner)
            .where(exp.column(nad).eq(exp.column("_last_snapshot")))
        )
    return rows


def _header(kpi: Kpi, grain: str | None, by: Sequence[str], where: Mapping[str, Any]) -> str:
    params = ", ".join(["as_of", *kpi.parameters])
    lines = [
        f"-- kpi: {kpi.name} v{kpi.version} ({kpi.status}, content {kpi.content_hash[:12]})",
        f"-- model: {kpi.model.name} ({kpi.model.grain}); reads: {', '.join(kpi.model.tables)}",
        f"-- type: {kpi.type}; time dimension: {kpi.time_dimension}",
        f"-- parameters (bound): {params}",
        f"-- grain: {grain or 'all history to as_of'}; by: {', '.join(by) or '-'}; "
        f"filters: {', '.join(where) or '-'}",
    ]
    return "\n".join(lines) + "\n"


def _finish(
    kpi: Kpi, tree: exp.Select, header: str, params: dict[str, Any], pretty: bool
) -> tuple[str, dict[str, Any]]:
    used = {p.name for p in tree.find_all(exp.Placeholder)}
    return header + tree.sql(dialect=DIALECT, pretty=pretty), {
        k: v for k, v in params.items() if k in used
    }


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
) -> CompiledQuery:
    """SQL for one KPI at a grain, by dimensions, filtered; `source` reads a pre-built model table."""
    where = dict(where or {})
    if grain is not None and grain not in GRAINS:
        raise CompileError(f"grain {grain!r} is not one of: {', '.join(GRAINS)}")
    _check_dims(kpi, by, "grouped by")
    if len(set(by)) != len(by):
        raise CompileError(f"dimension listed twice in by: {', '.join(by)}")
    params: dict[str, Any] = {"as_of": as_of, **bind_parameters(kpi, parameters or {})}
    model = kpi.model.name
    src: exp.Expression = exp.to_table(source) if source else exp.to_table(model)
    rows = _rows_query(kpi, src, grain, where, params, by)
    keys = [exp.column(d) for d in by] + ([exp.column("period")] if grain else [])
    query = exp.select(*keys, *_selects(kpi)).from_(rows.subquery("kpi_rows"))
    if keys:
        query = query.group_by(*keys).order_by(*[k.copy() for k in keys])
    if not source:
        for m in kpi.chain:
            query = query.with_(m.name, as_=_parse(m.sql))
    sql, bound = _finish(kpi, query, _header(kpi, grain, by, where), params, pretty)
    columns = (*by, *(("period",) if grain else ()), *output_measures(kpi))
    return CompiledQuery(kpi, sql, bound, columns, kpi.model.tables)


def output_measures(kpi: Kpi) -> tuple[str, ...]:
    """The figure columns a compiled KPI query returns, after its keys."""
    ratio = ("numerator", "denominator") if kpi.is_ratio else ()
    return (*ratio, "value", *kpi.companions)


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
    rows = _rows_query(kpi, exp.to_table(source), grain, {}, params, [])
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
