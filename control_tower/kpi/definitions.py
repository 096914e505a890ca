"""KPI definitions (`kpi_definitions/<name>.yml`): what a KPI measures and how, checked strictly.

A KPI names its model, how its measures aggregate, its dimensions,
parameters, thresholds and the exception types behind its misses (checked
against `control_tower.exceptions.registry`, the one registry of type names).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot import exp

from control_tower.exceptions.registry import EXCEPTION_TYPES, unknown_kpi_types
from control_tower.kpi.checks import Checker, Problem, read_yaml
from control_tower.kpi.models import Model

if TYPE_CHECKING:
    from control_tower.kpi.certification import SignOff

NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
STATUSES = ("draft", "certified", "deprecated")
TYPES = ("ratio", "simple", "quantile", "semi_additive", "derived")
AGGS = ("sum", "count", "count_distinct", "min", "max", "avg", "median", "quantile")
DIRECTIONS = ("higher_is_better", "lower_is_better")
UNITS = ("percent", "ratio", "hours", "days", "count", "currency", "units", "turns")
PARAM_TYPES = ("decimal", "integer", "number")

KPI_KEYS = {
    "name": True,
    "label": True,
    "description": True,
    "owner": True,
    "status": True,
    "version": True,
    "type": True,
    "model": True,
    "measures": True,
    "expr": False,
    "time_dimension": True,
    "dimensions": True,
    "parameters": False,
    "unit": True,
    "format": True,
    "direction": True,
    "target": False,
    "thresholds": False,
    "exception_types": True,
    "exceptions_past_sla": False,
    "companions": False,
}
# Keys linking a definition to the exception queues (the last one is the retired form, found in
# recorded history). They do not change the number: the content hash leaves them out.
LINKAGE_KEYS = ("exception_types", "exceptions_past_sla", "exception_queue")
MEASURE_KEYS = {"expr": True, "agg": True, "quantile": False, "non_additive_dimension": False}
COMPANION_KEYS = {"label": True, "type": True, "measures": True, "expr": False}
PARAM_KEYS = {"default": True, "type": True, "description": False}


@dataclass(frozen=True)
class Measure:
    """An aggregation of a per-row expression of the model."""

    name: str
    expr: str
    agg: str
    quantile: float | None = None
    non_additive_dimension: str | None = None


@dataclass(frozen=True)
class Parameter:
    """A KPI parameter (tolerance, window) with its default, bound at query time."""

    name: str
    default: Any
    type: str
    description: str = ""


@dataclass(frozen=True)
class Companion:
    """A figure reported beside the KPI (e.g. the P90, a share, an age bucket)."""

    name: str
    label: str
    type: str
    measures: dict[str, Measure]
    expr: str | None = None


@dataclass(frozen=True)
class Kpi:
    """A governed KPI definition."""

    name: str
    label: str
    description: str
    owner: str
    status: str
    version: int
    type: str
    model: Model
    measures: dict[str, Measure]
    time_dimension: str
    dimensions: tuple[str, ...]
    parameters: dict[str, Parameter]
    unit: str
    format: str
    direction: str
    exception_types: tuple[str, ...]
    path: Path
    text: str
    expr: str | None = None
    target: float | None = None
    warn: float | None = None
    breach: float | None = None
    companions: dict[str, Companion] = field(default_factory=dict)
    chain: tuple[Model, ...] = ()  # the models it reads, dependencies first, its model last
    content_hash: str = ""
    # The items behind the number are every unresolved item past its SLA, whatever its type
    # (exception_aging), rather than the items of `exception_types`.
    exceptions_past_sla: bool = False
    # `status` is what `kpi.certification` makes of the definition's `status` (kept here as
    # `declared_status`) and the sign-offs; `signoff` approves the current version, if any.
    declared_status: str = ""
    signoff: SignOff | None = None

    @property
    def is_ratio(self) -> bool:
        """The value is sum(numerator) / sum(denominator) (reported with both)."""
        return "numerator" in self.measures and "denominator" in self.measures


def _measures(chk: Checker, data: Any, prefix: str, model: Model | None) -> dict[str, Measure]:
    out: dict[str, Measure] = {}
    if not isinstance(data, dict) or not data:
        chk.add(
            prefix.rstrip("."),
            "must be a non-empty mapping of measures",
            getattr(data, "line", None),
        )
        return out
    for name, spec in data.items():
        where = f"{prefix}{name}."
        if not chk.mapping(spec, MEASURE_KEYS, where):
            continue
        expr = chk.text(spec, "expr", where)
        agg = chk.choice(spec, "agg", AGGS, where)
        quantile = spec.get("quantile")
        if agg == "quantile" and not (isinstance(quantile, float) and 0 < quantile < 1):
            chk.add(
                where + "quantile",
                "a quantile measure needs quantile: a number between 0 and 1",
                chk.line(spec, "agg"),
            )
        if agg != "quantile" and quantile is not None:
            chk.add(
                where + "quantile",
                "only a quantile measure takes quantile",
                chk.line(spec, "quantile"),
            )
        nad = spec.get("non_additive_dimension")
        if nad is not None and model is not None and nad not in model.time_dimensions:
            chk.add(
                where + "non_additive_dimension",
                f"{nad!r} is not a time dimension of model {model.name!r}",
                chk.line(spec, "non_additive_dimension"),
            )
        if expr and model is not None:
            _check_expr(
                chk,
                expr,
                set(model.columns),
                where + "expr",
                chk.line(spec, "expr"),
                f"model {model.name!r}",
            )
        out[str(name)] = Measure(str(name), expr, agg, quantile, nad)
    return out


def _check_expr(
    chk: Checker, expr: str, known: set[str], key: str, line: int | None, what: str
) -> None:
    try:
        tree = sqlglot.parse_one(expr, dialect="duckdb")
    except sqlglot.errors.ParseError as exc:
        chk.add(key, f"does not parse: {exc}", line)
        return
    if tree.find(exp.Select) or tree.find(exp.Placeholder):
        chk.add(key, "must be an expression over columns (no subquery, no parameter)", line)
    for col in tree.find_all(exp.Column):
        if col.name not in known:
            chk.add(
                key,
                f"column {col.name!r} is not exposed by {what} (exposes: {', '.join(sorted(known))})",
                line,
            )


def _type_shape(
    chk: Checker,
    kind: str,
    measures: dict[str, Measure],
    expr: str | None,
    prefix: str,
    line: int | None,
) -> None:
    names = set(measures)
    if kind == "ratio" and names != {"numerator", "denominator"}:
        chk.add(
            prefix + "measures", "a ratio has exactly the measures numerator and denominator", line
        )
    if kind in ("simple", "quantile", "semi_additive") and names != {"value"}:
        chk.add(prefix + "measures", f"a {kind} KPI has exactly one measure, named value", line)
    if kind == "quantile" and any(m.agg not in ("median", "quantile") for m in measures.values()):
        chk.add(prefix + "measures", "a quantile KPI aggregates with median or quantile", line)
    if kind == "semi_additive" and any(m.non_additive_dimension is None for m in measures.values()):
        chk.add(
            prefix + "measures", "a semi_additive measure names its non_additive_dimension", line
        )
    if kind != "semi_additive" and any(m.non_additive_dimension for m in measures.values()):
        chk.add(prefix + "measures", "only a semi_additive KPI has a non_additive_dimension", line)
    if kind == "derived":
        if not expr:
            chk.add(prefix + "expr", "a derived KPI needs expr, a formula over its measures", line)
        else:
            _check_expr(chk, expr, names, prefix + "expr", line, "its measures")
    elif expr:
        chk.add(prefix + "expr", "only a derived KPI has expr", line)


def _parameters(chk: Checker, data: Any, model: Model | None) -> dict[str, Parameter]:
    out: dict[str, Parameter] = {}
    data = data or {}
    if not isinstance(data, dict):
        chk.add("parameters", "must be a mapping of name: {default, type}")
        return out
    for name, spec in data.items():
        where = f"parameters.{name}."
        if not chk.mapping(spec, PARAM_KEYS, where):
            continue
        kind = chk.choice(spec, "type", PARAM_TYPES, where)
        default = spec.get("default")
        try:
            if kind == "decimal":
                default = Decimal(str(default))
            elif kind == "integer":
                if isinstance(default, bool) or not isinstance(default, int):
                    raise ValueError
            elif kind == "number":
                default = float(default)
        except (InvalidOperation, ValueError, TypeError):
            chk.add(where + "default", f"{default!r} is not a {kind}", chk.line(spec, "default"))
        out[str(name)] = Parameter(str(name), default, kind, str(spec.get("description") or ""))
    if model is not None:
        for name in model.parameters:
            if name not in out:
                chk.add(
                    "parameters",
                    f"model {model.name!r} uses ${name}: give it a default here",
                    getattr(data, "line", None),
                )
        for name in out:
            if name not in model.parameters:
                chk.add(
                    f"parameters.{name}",
                    f"model {model.name!r} does not use this parameter",
                    chk.line(data, name),
                )
    return out


def _exception_types(chk: Checker, data: Mapping[str, Any]) -> tuple[tuple[str, ...], bool]:
    """The exception types behind a KPI, each registered, and whether its items are instead
    every item past its SLA (`exceptions_past_sla: true`)."""
    key = "exception_types"
    line = chk.line(data, key)
    value = data.get(key)
    names: tuple[str, ...] = ()
    if value is not None:  # a missing list is refused as required
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            chk.add(key, "must be a list of exception type names ([] while none is detected)", line)
        else:
            names = tuple(value)
    registered = ", ".join(EXCEPTION_TYPES)
    for name, reason in unknown_kpi_types(names):
        chk.add(key, f"{name!r} {reason} (registered: {registered})", line)
    for name in sorted({n for n in names if names.count(n) > 1}):
        chk.add(key, f"{name!r} is listed twice", line)
    past_sla = data.get("exceptions_past_sla", False)
    if not isinstance(past_sla, bool):
        chk.add(
            "exceptions_past_sla",
            f"{past_sla!r} is not true or false",
            chk.line(data, "exceptions_past_sla"),
        )
        past_sla = False
    if past_sla and names:
        chk.add(
            key,
            "exceptions_past_sla: true already takes every type's items past their SLA: list []",
            line,
        )
    return names, past_sla


def parse_kpi(
    path: Path,
    root: Path,
    models: Mapping[str, Model],
    problems: list[Problem],
    *,
    recorded: bool = False,
) -> Kpi | None:
    """Read and check one KPI definition file; problems are appended.

    `recorded`: the text comes from the governance history, rebuilt for its numbers only: the
    exception types behind it (or the older `exception_queue` key) are not checked or kept, as
    the registry of types may have changed since it was recorded.
    """
    chk = Checker(path, root)
    data, text = read_yaml(path, chk)
    keys = {**KPI_KEYS, **dict.fromkeys(LINKAGE_KEYS, False)} if recorded else KPI_KEYS
    if data is None or not chk.mapping(data, keys, ""):
        problems.extend(chk.problems)
        return None
    name = chk.text(data, "name")
    if name and not NAME_RE.match(name):
        chk.add("name", f"{name!r} is not snake_case", chk.line(data, "name"))
    if name and name != path.stem:
        chk.add("name", f"{name!r} must equal the file name {path.stem!r}", chk.line(data, "name"))
    model_name = chk.text(data, "model")
    model = models.get(model_name)
    if model_name and model is None:
        chk.add(
            "model",
            f"no model {model_name!r} in models/ (known: {', '.join(sorted(models))})",
            chk.line(data, "model"),
        )
    description = chk.text(data, "description")
    if (
        description
        and model is not None
        and model.grain.lower() not in " ".join(description.lower().split())
    ):
        chk.add(
            "description",
            f"must state the grain sentence of model {model.name!r}: {model.grain!r}",
            chk.line(data, "description"),
        )
    version = data.get("version")
    if version is not None and (
        isinstance(version, bool) or not isinstance(version, int) or version < 1
    ):
        chk.add("version", f"{version!r} is not a positive integer", chk.line(data, "version"))
        version = None
    kind = chk.choice(data, "type", TYPES)
    status = chk.choice(data, "status", STATUSES)
    measures = (
        _measures(chk, data.get("measures"), "measures.", model) if "measures" in data else {}
    )
    expr = data.get("expr")
    if kind and measures:
        _type_shape(chk, kind, measures, expr, "", chk.line(data, "measures"))
    tdim = chk.text(data, "time_dimension")
    if tdim and model is not None and tdim not in model.time_dimensions:
        chk.add(
            "time_dimension",
            f"{tdim!r} is not a time dimension of model {model.name!r} (it has: {', '.join(model.time_dimensions)})",
            chk.line(data, "time_dimension"),
        )
    dims = chk.names(data, "dimensions")
    if model is not None:
        for dim in dims:
            if dim not in model.dimensions:
                chk.add(
                    "dimensions",
                    f"{dim!r} is not a dimension of model {model.name!r} (it has: {', '.join(model.dimensions)})",
                    chk.line(data, "dimensions"),
                )
    params = _parameters(chk, data.get("parameters"), model)
    exception_types, past_sla = _exception_types(chk, data) if not recorded else ((), False)
    direction = chk.choice(data, "direction", DIRECTIONS)
    target = data.get("target")
    if target is not None and (isinstance(target, bool) or not isinstance(target, int | float)):
        chk.add("target", f"{target!r} is not a number", chk.line(data, "target"))
        target = None
    warn = breach = None
    thresholds = data.get("thresholds")
    if thresholds is not None and chk.mapping(
        thresholds, {"warn": True, "breach": True}, "thresholds."
    ):
        warn, breach = thresholds.get("warn"), thresholds.get("breach")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (warn, breach)):
            chk.add("thresholds", "warn and breach must be numbers", chk.line(data, "thresholds"))
            warn = breach = None
        elif direction == "higher_is_better" and breach > warn:  # type: ignore[operator]
            chk.add(
                "thresholds",
                "higher_is_better: breach must not be above warn",
                chk.line(data, "thresholds"),
            )
        elif direction == "lower_is_better" and breach < warn:  # type: ignore[operator]
            chk.add(
                "thresholds",
                "lower_is_better: breach must not be below warn",
                chk.line(data, "thresholds"),
            )
    companions: dict[str, Companion] = {}
    comp_data = data.get("companions") or {}
    if not isinstance(comp_data, dict):
        chk.add(
            "companions",
            "must be a mapping of name: {label, type, measures}",
            chk.line(data, "companions"),
        )
        comp_data = {}
    for cname, spec in comp_data.items():
        where = f"companions.{cname}."
        if cname in ("value", "numerator", "denominator") or not NAME_RE.match(str(cname)):
            chk.add(
                where.rstrip("."),
                "a companion needs a snake_case name other than value/numerator/denominator",
                chk.line(comp_data, cname),
            )
            continue
        if not chk.mapping(spec, COMPANION_KEYS, where):
            continue
        ckind = chk.choice(spec, "type", ("ratio", "simple", "quantile", "derived"), where)
        cmeasures = (
            _measures(chk, spec.get("measures"), where + "measures.", model)
            if "measures" in spec
            else {}
        )
        if ckind and cmeasures:
            _type_shape(chk, ckind, cmeasures, spec.get("expr"), where, chk.line(spec, "measures"))
        companions[str(cname)] = Companion(
            str(cname), chk.text(spec, "label", where), ckind, cmeasures, spec.get("expr")
        )
    problems.extend(chk.problems)
    if chk.problems or model is None:
        return None
    return Kpi(
        name=name,
        label=chk.text(data, "label"),
        description=description,
        owner=chk.text(data, "owner"),
        status=status,
        declared_status=status,
        version=int(version or 0),
        type=kind,
        model=model,
        measures=measures,
        expr=expr,
        time_dimension=tdim,
        dimensions=dims,
        parameters=params,
        unit=chk.choice(data, "unit", UNITS),
        format=chk.text(data, "format"),
        direction=direction,
        exception_types=exception_types,
        exceptions_past_sla=past_sla,
        path=path,
        text=text,
        target=target,
        warn=warn,
        breach=breach,
        companions=companions,
    )
