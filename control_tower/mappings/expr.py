"""The mapping expression language: a small, safe subset of SQL compiled to DuckDB through sqlglot.

A mapping derives a canonical column from source columns with an expression
such as `add_days(order_date, days_scheduled)` or
`map_value(order_status, 'order_status')`. The text is parsed into a sqlglot
syntax tree and every node is checked against a whitelist: column
references, literals, arithmetic, comparisons, CASE, CAST to a few types and
a list of plain functions. Nothing else (subqueries, statements, unknown
functions, `*`) gets through, and the SQL is generated from the checked tree,
never by pasting the text.

Functions added by the language (compiled to DuckDB SQL):
- `add_days(timestamp_or_date, days)`: the instant `days` whole days later.
- `map_value(value, 'map_name')`: the value translated by a `value_maps`
  entry of the mapping; a value not in the map passes through unchanged, so
  the contract rejects an unknown code with a reason.
- `parse_timestamp(text, 'strptime pattern')`, `parse_date(text, 'pattern')`:
  text to a timestamp or date.
- `int_text(text)`: a whole number written as a float (`725.0`) back to `725`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from control_tower.mappings.checks import COLUMN_META, PARSE_META, Check, collect

# Node types an expression may contain (functions are whitelisted below by class or name).
_STRUCTURE: tuple[type[exp.Expression], ...] = (
    exp.Column,
    exp.Identifier,
    exp.Literal,
    exp.Boolean,
    exp.Null,
    exp.Paren,
    exp.Neg,
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.Mod,
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.And,
    exp.Or,
    exp.Not,
    exp.Is,
    exp.In,
    exp.Between,
    exp.Case,
    exp.If,
    exp.DPipe,
    exp.Cast,
    exp.TryCast,
    exp.DataType,
    exp.DataTypeParam,  # DECIMAL(10, 2)
    exp.Var,
)
_FUNCTIONS: tuple[type[exp.Expression], ...] = (
    exp.Coalesce,
    exp.Nullif,
    exp.Trim,
    exp.Lower,
    exp.Upper,
    exp.Concat,
    exp.ConcatWs,
    exp.Substring,
    exp.Length,
    exp.Round,
    exp.Abs,
    exp.Greatest,
    exp.Least,
    exp.RegexpReplace,
    exp.RegexpLike,
    exp.Left,
    exp.Right,
    exp.Replace,
)
_CAST_TYPES = {
    exp.DataType.Type.VARCHAR,
    exp.DataType.Type.TEXT,
    exp.DataType.Type.INT,
    exp.DataType.Type.BIGINT,
    exp.DataType.Type.DOUBLE,
    exp.DataType.Type.DECIMAL,
    exp.DataType.Type.DATE,
    exp.DataType.Type.TIMESTAMP,
    exp.DataType.Type.BOOLEAN,
}
CUSTOM_FUNCTIONS = ("add_days", "map_value", "parse_timestamp", "parse_date", "int_text")
ALLOWED_FUNCTION_NAMES = sorted(
    {*CUSTOM_FUNCTIONS, *(cls.sql_names()[0].lower() for cls in _FUNCTIONS)}
)


ALLOWED = (
    "an expression may use column names, 'text', numbers, + - * / %, comparisons, "
    "AND/OR/NOT, IS [NOT] NULL, IN (...), BETWEEN, CASE WHEN ... END, ||, "
    "CAST(x AS type) and the functions "
)
EXAMPLE = "for example: trim(cust_name), CAST(qty AS DECIMAL) or parse_date(day, '%d.%m.%Y')"
# What a user wrote, in their terms, for the constructs refused most often.
_CONSTRUCTS: dict[type[exp.Expression], str] = {
    exp.Subquery: "a subquery (SELECT ...)",
    exp.Select: "a SELECT statement",
    exp.Window: "a window function (OVER ...)",
    exp.Lambda: "a lambda (x -> ...)",
    exp.Dot: "a dotted name (a.b.c)",
    exp.Bracket: "indexing with [...]",
    exp.Array: "a list [...]",
    exp.Struct: "a struct {...}",
    exp.Placeholder: "a parameter placeholder",
    exp.Parameter: "a parameter",
}


def _refused(node: exp.Expression, text: str) -> str:
    """Why a node is refused, in the user's terms: the construct and what is allowed instead."""
    if isinstance(node, exp.Func):
        what = f"the function {type(node).sql_names()[0].upper()}()"
    else:
        what = next(
            (w for cls, w in _CONSTRUCTS.items() if isinstance(node, cls)),
            f"{node.sql('duckdb')!r}",
        )
    return (
        f"{what} is not allowed in a mapping expression ({text!r}); "
        f"{ALLOWED}{', '.join(ALLOWED_FUNCTION_NAMES)}; {EXAMPLE}"
    )


class ExpressionError(ValueError):
    """An expression is not valid in the mapping language; the message says why."""


@dataclass(frozen=True)
class Compiled:
    """An expression compiled to DuckDB SQL, with the source columns it reads."""

    sql: str
    columns: frozenset[tuple[str, str]]  # (qualifier or "", normalised column name)
    checks: tuple[Check, ...] = ()  # its parses: a present value that fails one is a problem


def _parse(text: str) -> exp.Expression:
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("the expression is empty")
    try:
        tree = sqlglot.parse(text, dialect="duckdb")
    except ParseError as exc:
        first = str(exc).splitlines()[0]
        raise ExpressionError(f"cannot parse {text!r}: {first}") from None
    if len(tree) != 1 or tree[0] is None:
        raise ExpressionError(f"{text!r} must be one expression, not several statements")
    return tree[0]


def _check(tree: exp.Expression, text: str) -> None:
    for node in tree.walk():
        if isinstance(node, exp.Anonymous):
            if node.name.lower() not in CUSTOM_FUNCTIONS:
                raise ExpressionError(
                    f"unknown function {node.name}() in {text!r}; allowed: "
                    + ", ".join(ALLOWED_FUNCTION_NAMES)
                )
            continue
        if isinstance(node, exp.Star):
            raise ExpressionError(f"'*' is not allowed in {text!r}: name the columns")
        if isinstance(node, exp.DataType):
            if node.this not in _CAST_TYPES:
                allowed = ", ".join(sorted(t.value for t in _CAST_TYPES))
                raise ExpressionError(
                    f"cannot cast to {node.sql('duckdb')} in {text!r}; allowed types: {allowed} "
                    "(for example: CAST(qty AS DECIMAL(12, 3)))"
                )
            continue
        if isinstance(node, _STRUCTURE + _FUNCTIONS):
            continue
        raise ExpressionError(_refused(node, text))


def _is_custom(node: exp.Expression) -> bool:
    return isinstance(node, exp.Anonymous) and node.name.lower() in CUSTOM_FUNCTIONS


def _literal_arg(node: exp.Anonymous, index: int, text: str) -> str:
    args = node.expressions
    if len(args) <= index or not isinstance(args[index], exp.Literal) or not args[index].is_string:
        raise ExpressionError(
            f"{node.name}() needs a quoted text literal as argument {index + 1} in {text!r}"
        )
    return args[index].this


def _arity(node: exp.Anonymous, n: int, text: str) -> None:
    if len(node.expressions) != n:
        raise ExpressionError(f"{node.name}() takes {n} arguments in {text!r}")


def compile_expression(
    text: str,
    resolve: Callable[[str, str], exp.Expression],
    value_maps: Mapping[str, Mapping[str, str]] | None = None,
) -> Compiled:
    """Parse, check and compile one expression to DuckDB SQL.

    `resolve(qualifier, column)` turns a column reference (normalised to
    lower case; qualifier "" when unqualified) into the SQL expression that
    reads it, or raises ExpressionError when there is no such column.
    """
    tree = _parse(text)
    _check(tree, text)
    maps = value_maps or {}
    used: set[tuple[str, str]] = set()

    def columns(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column):
            if not node.name:
                raise ExpressionError(f"a column reference without a name in {text!r}")
            key = (node.table.lower(), node.name.strip().lower())
            used.add(key)
            resolved = resolve(*key)
            resolved.meta[COLUMN_META] = f"{key[0]}.{key[1]}" if key[0] else key[1]
            return resolved
        return node

    def rewrite(node: exp.Expression) -> exp.Expression:
        if not _is_custom(node):
            return node
        assert isinstance(node, exp.Anonymous)
        name = node.name.lower()
        args = node.expressions
        if name == "add_days":
            _arity(node, 2, text)
            return exp.Add(
                this=exp.cast(args[0], "TIMESTAMP"),
                expression=exp.func("to_days", exp.cast(args[1], "INTEGER"), dialect="duckdb"),
            )
        if name in ("parse_timestamp", "parse_date"):
            _arity(node, 2, text)
            pattern = _literal_arg(node, 1, text)
            parsed = exp.func(
                "try_strptime", args[0], exp.Literal.string(pattern), dialect="duckdb"
            )
            parsed.meta[PARSE_META] = (name, pattern)
            return exp.cast(parsed, "DATE" if name == "parse_date" else "TIMESTAMP")
        if name == "int_text":
            _arity(node, 1, text)
            return exp.RegexpReplace(
                this=args[0],
                expression=exp.Literal.string(r"^([+-]?[0-9]+)\.0+$"),
                replacement=exp.Literal.string(r"\1"),
            )
        if name == "map_value":
            _arity(node, 2, text)
            map_name = _literal_arg(node, 1, text)
            if map_name not in maps:
                raise ExpressionError(
                    f"map_value() names {map_name!r}, which is not in value_maps "
                    f"(known: {', '.join(maps) or 'none'})"
                )
            value = exp.cast(args[0], "VARCHAR")
            case = exp.Case(this=value)
            for source, target in maps[map_name].items():
                case = case.when(exp.Literal.string(source), exp.Literal.string(target), copy=False)
            return case.else_(value.copy(), copy=False) if maps[map_name] else value
        return node  # pragma: no cover - every custom name is handled above

    # Custom functions first (their arguments are still plain column references), then columns.
    compiled = tree.copy()
    while any(_is_custom(n) for n in compiled.walk()):  # nested calls: outside in, one per pass
        compiled = compiled.transform(rewrite, copy=False)
    compiled = compiled.transform(columns, copy=False)
    compiled, checks = collect(compiled)
    return Compiled(compiled.sql(dialect="duckdb"), frozenset(used), checks)


def quote_identifier(name: str) -> exp.Identifier:
    """A quoted identifier node (safe for any column name)."""
    return exp.to_identifier(name, quoted=True)
