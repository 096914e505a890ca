"""Values a mapping parses (formats, casts, `parse_*`): a present value that fails is a problem.

Every parse in a compiled expression (a column read through its `formats`
pattern, `parse_timestamp`/`parse_date`, `CAST`/`TRY_CAST`) becomes a
`Check`: SQL that is true when its input is present (not empty after the
`missing:` placeholders) but does not parse, with the text that failed and
why. The casts themselves are compiled as TRY_CAST, so a bad value never
aborts the file: the landing quarantines its row with the check's reason.
A parse inside a CASE (or IF) branch is checked only where that branch is
taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlglot import exp

FORMAT_META = "ct_format"  # on a try_strptime node reading a column through `formats`
PARSE_META = "ct_parse"  # on a try_strptime node of parse_timestamp() / parse_date()
COLUMN_META = "ct_column"  # on the SQL a column reference resolved to: the name it was given

_TEXT_TYPES = {exp.DataType.Type.VARCHAR, exp.DataType.Type.TEXT}
_EXPECTED = {
    exp.DataType.Type.INT: "a whole number such as 42",
    exp.DataType.Type.BIGINT: "a whole number such as 42",
    exp.DataType.Type.DOUBLE: "a number such as 12.5",
    exp.DataType.Type.DECIMAL: "a number such as 12.5",
    exp.DataType.Type.DATE: "a date such as 2026-03-05",
    exp.DataType.Type.TIMESTAMP: "a timestamp such as 2026-03-05 14:30:00",
    exp.DataType.Type.BOOLEAN: "true or false",
}
_SAMPLE = datetime(2026, 3, 5, 14, 30, 0)


@dataclass(frozen=True)
class Check:
    """One parse of an expression: when a present value failed it, which text, and why."""

    failed: str  # SQL: true when the input is present and does not parse
    value: str  # SQL: the text that failed, as read
    column: str  # the source column(s) it came from (or the expression part)
    reason: str  # SQL: text saying what was expected


def sample(pattern: str) -> str:
    """A strptime pattern applied to 5 March 2026 14:30, as an example of what it reads."""
    try:
        return _SAMPLE.strftime(pattern)
    except ValueError:  # a directive this platform cannot write
        return pattern


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _present(node: exp.Expression) -> str:
    sql = node.sql("duckdb")
    return f"({sql}) IS NOT NULL AND trim(CAST(({sql}) AS VARCHAR)) <> ''"


def _labels(node: exp.Expression) -> str:
    names = sorted({n.meta[COLUMN_META] for n in node.walk() if COLUMN_META in n.meta})
    return ", ".join(names) or node.sql("duckdb")


def _truthy(cond: exp.Expression) -> exp.Expression:
    return exp.func("coalesce", cond.copy(), exp.false())


def _guard(node: exp.Expression) -> list[exp.Expression]:
    """Conditions under which `node` is evaluated: the CASE / IF branches around it."""
    conds: list[exp.Expression] = []
    child, parent = node, node.parent
    while parent is not None:
        if isinstance(parent, exp.If) and child.arg_key in ("true", "false"):
            case = parent.parent if isinstance(parent.parent, exp.Case) else None
            this = case.args.get("this") if case is not None else None

            def when(branch: exp.If, this: exp.Expression | None = this) -> exp.Expression:
                cond = branch.this
                return _truthy(exp.EQ(this=this.copy(), expression=cond.copy()) if this else cond)

            if child.arg_key == "false":
                conds.append(exp.Not(this=when(parent)))
            else:
                conds.append(when(parent))
            if case is not None:  # a later WHEN is reached only when the earlier ones are false
                for earlier in case.args.get("ifs") or []:
                    if earlier is parent:
                        break
                    conds.append(exp.Not(this=when(earlier)))
        elif isinstance(parent, exp.Case) and child.arg_key == "default":
            this = parent.args.get("this")
            for branch in parent.args.get("ifs") or []:
                cond = branch.this
                eq = exp.EQ(this=this.copy(), expression=cond.copy()) if this else cond
                conds.append(exp.Not(this=_truthy(eq)))
        child, parent = parent, parent.parent
    return conds


def _failed(conds: list[exp.Expression], node: exp.Expression, parsed: exp.Expression) -> str:
    parts = [f"({c.sql('duckdb')})" for c in conds]
    parts += [_present(node), f"({parsed.sql('duckdb')}) IS NULL"]
    return " AND ".join(parts)


def _parse_input(node: exp.Expression) -> bool:
    """A strptime this module placed: its cast to a timestamp or date cannot fail."""
    return FORMAT_META in node.meta or PARSE_META in node.meta


def collect(tree: exp.Expression) -> tuple[exp.Expression, tuple[Check, ...]]:
    """The tree with every cast as TRY_CAST, and the checks of its parses (see module doc)."""

    def to_try(node: exp.Expression) -> exp.Expression:
        if (
            type(node) is exp.Cast
            and node.to.this not in _TEXT_TYPES
            and not _parse_input(node.this)
        ):
            return exp.TryCast(this=node.this, to=node.args["to"])
        return node

    tree = tree.transform(to_try, copy=False)
    checks: list[Check] = []
    for node in tree.walk():
        if FORMAT_META in node.meta:
            label, pattern = node.meta[FORMAT_META]
            arg = node.expressions[0]
            why = (
                f" does not match the format {pattern!r} set for {label} in formats "
                f"(it reads values such as {sample(pattern)!r})"
            )
            checks.append(Check(_failed([], arg, node), _value(arg), label, _with_value(arg, why)))
            continue
        if PARSE_META in node.meta:
            arg = node.expressions[0]
            name, pattern = node.meta[PARSE_META]
            why = (
                f" does not match the pattern {pattern!r} of {name}() "
                f"(it reads values such as {sample(pattern)!r})"
            )
        elif isinstance(node, exp.TryCast) and not _parse_input(node.this):
            arg = node.this
            to = node.to.this
            why = f" cannot be read as {to.value} (expected {_EXPECTED.get(to, to.value)})"
        else:
            continue
        failed = _failed(_guard(node), arg, node)
        checks.append(Check(failed, _value(arg), _labels(arg), _with_value(arg, why)))
    return tree, tuple(checks)


def _value(node: exp.Expression) -> str:
    return f"CAST(({node.sql('duckdb')}) AS VARCHAR)"


def _with_value(node: exp.Expression, why: str) -> str:
    return f"'''' || {_value(node)} || '''' || {_text(why)}"
