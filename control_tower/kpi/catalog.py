"""The KPI catalog: load `kpi_definitions/` (KPIs and their base models) and validate it strictly.

A base model (`kpi_definitions/models/<name>.yml`) is a trusted SQL SELECT over
landed tables at one grain, exposing dimensions, time dimensions (local dates)
and per-row measure columns. A KPI (`kpi_definitions/<name>.yml`) names its
model, how its measures aggregate, its dimensions, parameters, thresholds and
exception queue. The loader refuses anything it cannot vouch for, with the
file, line, key and reason of every problem at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import sqlglot
import yaml
from sqlglot import exp

from control_tower import resources
from control_tower.contracts import TABLES
from control_tower.kpi.queues import EXCEPTION_QUEUES

DEFAULT_DIR = resources.shipped("kpi_definitions")

NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
STATUSES = ("draft", "certified", "deprecated")
TYPES = ("ratio", "simple", "quantile", "semi_additive", "derived")
AGGS = ("sum", "count", "count_distinct", "min", "max", "avg", "median", "quantile")
DIRECTIONS = ("higher_is_better", "lower_is_better")
UNITS = ("percent", "ratio", "hours", "days", "count", "currency", "units", "turns")
PARAM_TYPES = ("decimal", "integer", "number")
# Columns of the compiled KPI query: a model may not expose them.
RESERVED_COLUMNS = ("period", "value", "numerator", "denominator", "dimension", "dimension_value")
# Tables a model may read besides the landed contract tables.
EXTRA_TABLES = ("exc.queue_items",)

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
    "exception_queue": True,
    "companions": False,
}
MODEL_KEYS = {
    "name": True,
    "description": True,
    "grain": True,
    "key": True,
    "dimensions": True,
    "time_dimensions": True,
    "measures": True,
    "parameters": False,
    "sql": True,
}
MEASURE_KEYS = {"expr": True, "agg": True, "quantile": False, "non_additive_dimension": False}
COMPANION_KEYS = {"label": True, "type": True, "measures": True, "expr": False}
PARAM_KEYS = {"default": True, "type": True, "description": False}


@dataclass(frozen=True)
class Problem:
    """One reason the catalog was refused."""

    file: str
    key: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.reason}" if self.key else f"{where}: {self.reason}"


class CatalogError(ValueError):
    """The catalog holds definitions that cannot be trusted; `problems` lists every reason."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("KPI catalog refused:\n" + "\n".join(f"  {p}" for p in problems))


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
class Model:
    """A governed base model: a trusted SELECT at one grain."""

    name: str
    description: str
    grain: str
    key: tuple[str, ...]
    dimensions: tuple[str, ...]
    time_dimensions: tuple[str, ...]
    measures: tuple[str, ...]
    parameters: tuple[str, ...]
    sql: str
    path: Path
    text: str
    tables: tuple[str, ...] = ()  # landed tables read, including through the models it uses
    uses: tuple[str, ...] = ()  # other models it reads (inlined before it)

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column the model exposes to KPI definitions."""
        return (*self.key, *self.dimensions, *self.time_dimensions, *self.measures)


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
    exception_queue: str
    path: Path
    text: str
    expr: str | None = None
    target: float | None = None
    warn: float | None = None
    breach: float | None = None
    companions: dict[str, Companion] = field(default_factory=dict)
    chain: tuple[Model, ...] = ()  # the models it reads, dependencies first, its model last
    content_hash: str = ""

    @property
    def is_ratio(self) -> bool:
        """The value is sum(numerator) / sum(denominator) (reported with both)."""
        return "numerator" in self.measures and "denominator" in self.measures


@dataclass(frozen=True)
class HistoryRecord:
    """One recorded (name, version, content hash) of the governance history."""

    name: str
    version: int
    content_hash: str
    status: str
    owner: str
    definition: str
    model: str
    first_seen_at: Any


@dataclass
class Catalog:
    """Every KPI and model of a definitions folder, validated."""

    root: Path
    models: dict[str, Model]
    kpis: dict[str, Kpi]

    def kpi(self, name: str) -> Kpi:
        """The KPI called `name`; KeyError names the known ones."""
        try:
            return self.kpis[name]
        except KeyError:
            raise KeyError(f"no KPI {name!r}; known: {', '.join(sorted(self.kpis))}") from None


# YAML with line numbers and duplicate-key refusal.


class _Map(dict):  # type: ignore[type-arg]
    """A mapping that remembers the line of itself and of each key."""

    line: int = 0
    lines: dict[str, int]
    duplicates: list[tuple[str, int]]


class _Loader(yaml.SafeLoader):
    pass


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> _Map:
    out = _Map()
    out.line = node.start_mark.line + 1
    out.lines = {}
    out.duplicates = []
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            out.duplicates.append((str(key), key_node.start_mark.line + 1))
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[str(key)] = key_node.start_mark.line + 1
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)


class _Checker:
    """Collects problems for one file."""

    def __init__(self, path: Path, root: Path) -> None:
        self.path = path
        try:
            self.file = str(path.relative_to(root.parent))
        except ValueError:
            self.file = str(path)
        self.problems: list[Problem] = []

    def add(self, key: str, reason: str, line: int | None = None) -> None:
        self.problems.append(Problem(self.file, key, reason, line))

    def line(self, data: Any, key: str) -> int | None:
        if isinstance(data, _Map):
            return data.lines.get(key, data.line)
        return None

    def mapping(self, data: Any, spec: Mapping[str, bool], prefix: str) -> bool:
        """Check keys of a mapping against `spec` (name -> required); False if not a mapping."""
        if not isinstance(data, dict):
            self.add(prefix.rstrip("."), f"must be a mapping, got {type(data).__name__}")
            return False
        for key, line in getattr(data, "duplicates", []):
            self.add(prefix + key, "duplicate key", line)
        for key in data:
            if key not in spec:
                self.add(
                    prefix + str(key),
                    f"unknown key (allowed: {', '.join(spec)})",
                    self.line(data, str(key)),
                )
        for key, required in spec.items():
            if required and (key not in data or data[key] is None or data[key] == ""):
                self.add(prefix + key, "is required", getattr(data, "line", None))
        return True

    def text(self, data: Mapping[str, Any], key: str, prefix: str = "") -> str:
        value = data.get(key)
        if value is None:
            return ""
        if not isinstance(value, str) or not value.strip():
            self.add(prefix + key, "must be a non-empty string", self.line(data, key))
            return ""
        return value.strip()

    def choice(
        self, data: Mapping[str, Any], key: str, allowed: Iterable[str], prefix: str = ""
    ) -> str:
        value = data.get(key)
        allowed = tuple(allowed)
        if value is None:
            return ""
        if value not in allowed:
            self.add(
                prefix + key,
                f"{value!r} is not one of: {', '.join(allowed)}",
                self.line(data, key),
            )
            return ""
        return str(value)

    def names(self, data: Mapping[str, Any], key: str, prefix: str = "") -> tuple[str, ...]:
        value = data.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.add(prefix + key, "must be a list of names", self.line(data, key))
            return ()
        return tuple(value)


def _read_yaml(path: Path, chk: _Checker) -> tuple[Any, str]:
    text = path.read_text(encoding="utf-8")
    try:
        return yaml.load(text, Loader=_Loader), text  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        chk.add(
            "", f"not valid YAML: {getattr(exc, 'problem', exc)}", mark.line + 1 if mark else None
        )
        return None, text


def _tables_read(tree: exp.Expression) -> tuple[str, ...]:
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    found = set()
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier) or (table.name in ctes and not table.db):
            continue  # a table function (generate_series) or a CTE
        found.add(f"{table.db}.{table.name}" if table.db and table.db != "main" else table.name)
    return tuple(sorted(found))


def parse_model(
    path: Path, root: Path, problems: list[Problem], model_names: Iterable[str] = ()
) -> Model | None:
    """Read and check one base model file; problems are appended."""
    model_names = set(model_names)
    chk = _Checker(path, root)
    data, text = _read_yaml(path, chk)
    model = None
    if data is not None and chk.mapping(data, MODEL_KEYS, ""):
        name = chk.text(data, "name")
        if name and name != path.stem:
            chk.add(
                "name", f"{name!r} must equal the file name {path.stem!r}", chk.line(data, "name")
            )
        if name in TABLES:
            chk.add(
                "name",
                f"{name!r} is a landed table: give the model another name",
                chk.line(data, "name"),
            )
        grain = chk.text(data, "grain")
        if grain and not grain.lower().startswith("one row per "):
            chk.add(
                "grain",
                "must be a grain sentence starting 'one row per ...'",
                chk.line(data, "grain"),
            )
        description = chk.text(data, "description")
        sql = chk.text(data, "sql")
        key = chk.names(data, "key")
        dims = chk.names(data, "dimensions")
        tdims = chk.names(data, "time_dimensions")
        measures = chk.names(data, "measures")
        params = chk.names(data, "parameters")
        for col in (*key, *dims, *tdims, *measures):
            if col in RESERVED_COLUMNS or col.startswith("_"):
                chk.add(
                    "sql",
                    f"column {col!r} is reserved for KPI queries: rename it",
                    chk.line(data, "sql"),
                )
        tables: tuple[str, ...] = ()
        uses: tuple[str, ...] = ()
        if sql:
            try:
                tree = sqlglot.parse_one(sql, dialect="duckdb")
            except sqlglot.errors.ParseError as exc:
                chk.add("sql", f"does not parse: {exc}", chk.line(data, "sql"))
                tree = None
            if tree is not None:
                if not isinstance(tree, exp.Query):
                    chk.add("sql", "must be a single SELECT", chk.line(data, "sql"))
                else:
                    selected = set(tree.named_selects)
                    for col in (*key, *dims, *tdims, *measures):
                        if col not in selected:
                            chk.add(
                                "sql",
                                f"does not select declared column {col!r}",
                                chk.line(data, "sql"),
                            )
                used = {p.name for p in tree.find_all(exp.Placeholder)}
                for extra in sorted(used - {"as_of", *params}):
                    chk.add(
                        "sql",
                        f"uses ${extra}, which is not a declared parameter",
                        chk.line(data, "sql"),
                    )
                read = _tables_read(tree)
                uses = tuple(t for t in read if t in model_names and t != name)
                tables = tuple(t for t in read if t not in uses)
                for table in tables:
                    if table not in TABLES and table not in EXTRA_TABLES:
                        chk.add(
                            "sql",
                            f"reads {table!r}, which is not a landed table",
                            chk.line(data, "sql"),
                        )
        model = Model(
            name=name,
            description=description,
            grain=grain,
            key=key,
            dimensions=dims,
            time_dimensions=tdims,
            measures=measures,
            parameters=params,
            sql=sql,
            path=path,
            text=text,
            tables=tables,
            uses=uses,
        )
    problems.extend(chk.problems)
    return model if not chk.problems else None


def _resolve_uses(models: dict[str, Model], problems: list[Problem]) -> None:
    """Give each model the landed tables of the models it uses; refuse cycles."""
    from dataclasses import replace

    def tables(name: str, seen: tuple[str, ...]) -> set[str]:
        model = models[name]
        if name in seen:
            raise ValueError(" -> ".join((*seen, name)))
        out = set(model.tables)
        for dep in model.uses:
            if dep in models:
                out |= tables(dep, (*seen, name))
        return out

    for name in list(models):
        try:
            models[name] = replace(models[name], tables=tuple(sorted(tables(name, ()))))
        except ValueError as cycle:
            problems.append(
                Problem(
                    str(models[name].path.relative_to(models[name].path.parents[2])),
                    "sql",
                    f"models read each other in a cycle: {cycle}",
                )
            )


def _measures(chk: _Checker, data: Any, prefix: str, model: Model | None) -> dict[str, Measure]:
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
    chk: _Checker, expr: str, known: set[str], key: str, line: int | None, what: str
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
    chk: _Checker,
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


def _parameters(chk: _Checker, data: Any, model: Model | None) -> dict[str, Parameter]:
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


def parse_kpi(
    path: Path, root: Path, models: Mapping[str, Model], problems: list[Problem]
) -> Kpi | None:
    """Read and check one KPI definition file; problems are appended."""
    chk = _Checker(path, root)
    data, text = _read_yaml(path, chk)
    if data is None or not chk.mapping(data, KPI_KEYS, ""):
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
    queue = chk.text(data, "exception_queue")
    if queue and queue not in EXCEPTION_QUEUES:
        chk.add(
            "exception_queue",
            f"{queue!r} is not a declared exception queue (control_tower/kpi/queues.py)",
            chk.line(data, "exception_queue"),
        )
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
        exception_queue=queue,
        path=path,
        text=text,
        target=target,
        warn=warn,
        breach=breach,
        companions=companions,
    )


def load_catalog(
    root: Path | Sequence[Path] | None = None, *, history: Iterable[HistoryRecord] = ()
) -> Catalog:
    """Load and validate every model and KPI under `root`; raises CatalogError listing all problems.

    `root` is one definitions folder or several loaded as one catalog (the
    product's, then an installation's own): a KPI may use a model of any of
    them, and a KPI or model name defined in two folders is refused, naming
    both files. `history` is the recorded governance history
    (ops.kpi_versions): a certified KPI whose content changed while its
    version did not is refused.
    """
    from control_tower.kpi.governance import check_history

    roots = resources.folders(root or DEFAULT_DIR)
    problems: list[Problem] = []
    for folder in roots:
        if not folder.is_dir():
            raise CatalogError([Problem(str(folder), "", "KPI definitions folder does not exist")])
        for path in sorted([*folder.rglob("*.yaml"), *folder.rglob("*.json")]):
            problems.append(
                Problem(str(path.relative_to(folder.parent)), "", "definitions are .yml files only")
            )
    model_paths, model_clashes = resources.files_by_name([r / "models" for r in roots])
    kpi_paths, kpi_clashes = resources.files_by_name(roots)
    problems += [Problem(str(c.second), "name", c.describe("model")) for c in model_clashes]
    problems += [Problem(str(c.second), "name", c.describe("KPI")) for c in kpi_clashes]
    models: dict[str, Model] = {}
    for path in model_paths.values():
        model = parse_model(path, path.parents[1], problems, model_paths)
        if model is not None:
            models[model.name] = model
    _resolve_uses(models, problems)
    kpis: dict[str, Kpi] = {}
    for path in sorted(kpi_paths.values(), key=lambda p: (roots.index(p.parent), p.name)):
        kpi = parse_kpi(path, path.parent, models, problems)
        if kpi is not None:
            kpis[kpi.name] = _finish(kpi, models)
    if not problems:
        problems.extend(check_history(kpis.values(), history, roots[0]))
    if problems:
        raise CatalogError(problems)
    return Catalog(root=roots[0], models=models, kpis=kpis)


def model_chain(model: Model, models: Mapping[str, Model]) -> tuple[Model, ...]:
    """The models `model` reads (dependencies first) followed by itself."""
    out: list[Model] = []

    def visit(m: Model) -> None:
        for dep in m.uses:
            visit(models[dep])
        if m not in out:
            out.append(m)

    visit(model)
    return tuple(out)


def _finish(kpi: Kpi, models: Mapping[str, Model]) -> Kpi:
    from dataclasses import replace

    from control_tower.kpi.governance import content_hash

    kpi = replace(kpi, chain=model_chain(kpi.model, models))
    return replace(kpi, content_hash=content_hash(kpi))


def load_definition_text(definition: str, model_texts: Mapping[str, str], *, name: str) -> Kpi:
    """Rebuild a KPI from recorded texts (its definition and its models), for `kpi diff`."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "kpi_definitions"
        (root / "models").mkdir(parents=True)
        for model_name, text in model_texts.items():
            (root / "models" / f"{model_name}.yml").write_text(text)
        (root / f"{name}.yml").write_text(definition)
        problems: list[Problem] = []
        models: dict[str, Model] = {}
        for model_name in model_texts:
            model = parse_model(root / "models" / f"{model_name}.yml", root, problems, model_texts)
            if model is not None:
                models[model.name] = model
        _resolve_uses(models, problems)
        kpi = parse_kpi(root / f"{name}.yml", root, models, problems)
        if problems or kpi is None:
            raise CatalogError(problems)
        return _finish(kpi, models)
