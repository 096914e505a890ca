"""Shared CTEs of a Spark query computed once.

DuckDB computes a CTE that a query reads several times once; Spark inlines
every reference and computes it again each time. The governed SQL leans on
shared CTEs (the ATP inputs of `order_at_risk` are read by four later steps),
so on Spark such a query ran many times slower than it should. `split` turns
every top-level CTE read more than once into a step of its own (carrying the
CTEs it reads), which the engine computes once and keeps as a checkpointed
view before the main query reads it: the same rows, computed once.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

DIALECT = "spark"


@dataclass(frozen=True)
class Plan:
    """Steps to cache, in order (name, SELECT), then the main query reading them."""

    steps: tuple[tuple[str, str], ...]
    query: str


def _references(tree: exp.Expression) -> Counter[str]:
    return Counter(t.name for t in tree.find_all(exp.Table) if not t.db)


def split(sql: str, *, prefix: str = "_ct") -> Plan:
    """The query with its top-level CTEs read more than once made into cached steps."""
    tree = sqlglot.parse_one(sql, dialect=DIALECT)
    with_ = tree.args.get("with_") or tree.args.get("with")
    if not isinstance(tree, exp.Query) or with_ is None or with_.recursive:
        return Plan((), sql)
    counts = _references(tree)
    shared = [c for c in with_.expressions if counts[c.alias_or_name] > 1]
    if not shared:
        return Plan((), sql)
    tag = hashlib.sha1(sql.encode()).hexdigest()[:10]
    steps: list[tuple[str, str]] = []
    renamed: dict[str, str] = {}
    for cte in list(with_.expressions):
        body = cte.this
        _rename(body, renamed)
        if cte not in shared:
            continue
        name = f"{prefix}_{tag}_{cte.alias_or_name}"
        earlier = _needed(with_, cte)
        step = body.copy()
        if earlier:
            key = "with_" if "with_" in step.arg_types else "with"
            own = step.args.get(key)
            ctes = [c.copy() for c in earlier] + (list(own.expressions) if own else [])
            step.set(key, exp.With(expressions=ctes))
        steps.append((name, step.sql(dialect=DIALECT)))
        renamed[cte.alias_or_name] = name
        cte.pop()
    main = tree.copy()
    main_with = main.args.get("with_") or main.args.get("with")
    _rename(main, renamed, skip=main_with)
    if main_with is not None:
        for c in main_with.expressions:
            _rename(c.this, renamed)
        if not main_with.expressions:
            main.set("with_" if "with_" in main.args else "with", None)
    return Plan(tuple(steps), main.sql(dialect=DIALECT))


def _needed(with_: exp.With, cte: exp.CTE) -> list[exp.CTE]:
    """The CTEs before `cte` that it reads, directly or through one another, in their order."""
    before = {}
    for c in with_.expressions:
        if c is cte:
            break
        before[c.alias_or_name] = c
    wanted: set[str] = set()
    todo = [cte.this]
    while todo:
        for name in _references(todo.pop()):
            if name in before and name not in wanted:
                wanted.add(name)
                todo.append(before[name].this)
    return [c for name, c in before.items() if name in wanted]


def _rename(
    tree: exp.Expression, renamed: dict[str, str], skip: exp.Expression | None = None
) -> None:
    for table in list(tree.find_all(exp.Table)):
        if skip is not None and table.find_ancestor(exp.With) is skip:
            continue
        if not table.db and table.name in renamed:
            alias = table.alias_or_name
            table.set("this", exp.to_identifier(renamed[table.name]))
            if not table.alias:
                table.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
