"""Base models: a trusted SQL SELECT over landed tables at one grain (`kpi_definitions/models/`).

A model exposes dimensions, time dimensions (local dates) and per-row
measure columns; it may read other models, which are inlined before it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import sqlglot
from sqlglot import exp

from control_tower.contracts import TABLES
from control_tower.kpi.checks import Checker, Problem, read_yaml

# Columns of the compiled KPI query: a model may not expose them.
RESERVED_COLUMNS = ("period", "value", "numerator", "denominator", "dimension", "dimension_value")
# Tables a model may read besides the landed contract tables.
EXTRA_TABLES = ("exc.queue_items",)

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
    chk = Checker(path, root)
    data, text = read_yaml(path, chk)
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


def resolve_uses(models: dict[str, Model], problems: list[Problem]) -> None:
    """Give each model the landed tables of the models it uses; refuse cycles."""

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
