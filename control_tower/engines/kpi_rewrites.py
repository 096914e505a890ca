"""The Spark rewrites the KPI catalog's models and value queries need (see `transpile`).

Each maps one DuckDB construct to the Spark form that gives the same value, and says why;
`transpile` runs `FIRST` before its own rewrites and `LAST` after them.
"""

from __future__ import annotations

from sqlglot import exp

from control_tower.engines.transpile import READ, Context, Rewrite, TranspileError, _call

_ASOF_NEXT = "_asof_bound"
_ASOF_OPS: dict[type[exp.Expression], tuple[str, type[exp.Expression]]] = {
    # right-side column <op> left-side expr -> (the right row's neighbour, when it is past left)
    exp.LTE: ("LEAD", exp.GT),  # the last right value <= left: no next one or it is > left
    exp.LT: ("LEAD", exp.GTE),  # the last right value < left: no next one or it is >= left
    exp.GTE: ("LAG", exp.LT),  # the first right value >= left: no previous one or it is < left
    exp.GT: ("LAG", exp.LTE),  # the first right value > left: no previous one or it is <= left
}


def _asof_parts(
    join: exp.Join, what: str
) -> tuple[list[exp.Column], exp.Column, type[exp.Expression], exp.Expression]:
    """The ASOF join's equality keys (right side's columns), its inequality's right column,
    operator (as right <op> left) and left expression."""
    alias = join.alias_or_name
    keys: list[exp.Column] = []
    inequality = None
    on = join.args.get("on")
    conds = list(on.flatten()) if isinstance(on, exp.And) else [on]
    flipped = {exp.LTE: exp.GTE, exp.LT: exp.GT, exp.GTE: exp.LTE, exp.GT: exp.LT}
    for cond in conds:
        if not isinstance(cond, (exp.EQ, *_ASOF_OPS)):
            raise TranspileError(what, f"ASOF join condition {cond.sql(READ)}")
        left, right = cond.this, cond.expression
        op: type[exp.Expression] = type(cond)
        if isinstance(right, exp.Column) and right.table == alias:
            left, right = right, left
            op = flipped.get(op, op)  # type: ignore[call-overload]
        if not (isinstance(left, exp.Column) and left.table == alias):
            raise TranspileError(what, f"ASOF join condition {cond.sql(READ)} (no joined column)")
        if op is exp.EQ:
            keys.append(left)
        elif inequality is None:
            inequality = (left, op, right)
        else:
            raise TranspileError(what, "ASOF join with two inequalities")
    if inequality is None:
        raise TranspileError(what, "ASOF join without an inequality")
    return keys, *inequality


def asof_join(tree: exp.Expression, ctx: Context) -> exp.Expression:
    """DuckDB `l ASOF LEFT JOIN r ON r.k = l.k AND r.t <= l.t` matches each left row with the
    right row of the same keys whose `t` is the greatest not past `l.t` (NULLs never match).
    Spark has no ASOF join; the same match is a plain LEFT JOIN on the keys and `r.t <= l.t`
    with one more condition: the right row's next `t` among its keys (LEAD, over the rows
    with a `t`) is missing or past `l.t`, which only the greatest such row satisfies. Exact
    when the right side has one row per keys and `t` (a row per step, as the ASOF joins of
    the governed SQL read; among tied rows DuckDB's pick is arbitrary, here it is the last
    in LEAD order). `<`, `>=`, `>` likewise (LAG for the first row at or after); an inner
    ASOF JOIN becomes an inner JOIN the same way."""
    what = ctx.what
    for join in list(tree.find_all(exp.Join)):
        if (join.args.get("method") or "").upper() != "ASOF":
            continue
        if join.side not in ("LEFT", ""):
            raise TranspileError(what, f"ASOF {join.side} JOIN")
        keys, column, op, left = _asof_parts(join, what)
        alias = join.alias_or_name
        select = join.parent
        if isinstance(select, exp.Select) and any(
            isinstance(e, exp.Star) for e in select.expressions
        ):
            raise TranspileError(what, "SELECT * over an ASOF join")
        func, past = _ASOF_OPS[op]
        inner_col = exp.column(column.name)
        window = exp.Window(
            this=exp.Anonymous(this=func, expressions=[inner_col.copy()]),
            partition_by=[exp.column(k.name) for k in keys] or None,
            order=exp.Order(expressions=[exp.Ordered(this=inner_col.copy(), nulls_first=False)]),
        )
        source = join.this.copy()
        source.set("alias", None)
        inner = (
            exp.select(exp.Star(), window.as_(_ASOF_NEXT))
            .from_(source)
            .where(exp.Not(this=exp.Is(this=inner_col.copy(), expression=exp.Null())))
        )
        bound = exp.column(_ASOF_NEXT, table=alias)
        extra = exp.or_(
            exp.Is(this=bound, expression=exp.Null()),
            past(this=bound.copy(), expression=left.copy()),
        )
        join.set("this", inner.subquery(alias))
        join.set("method", None)  # the side stays: an inner ASOF join drops unmatched rows too
        join.set("on", exp.and_(join.args["on"], exp.paren(extra)))
    return tree


def double_division(tree: exp.Expression, ctx: Context) -> exp.Expression:
    """DuckDB's `/` of numbers is a DOUBLE division whatever the operand types (DECIMAL ones
    included: `x / 28.0` is a DOUBLE); Spark divides DECIMALs as DECIMAL rounded to 6 places.
    The dividend cast to DOUBLE makes Spark divide in DOUBLE too, the same IEEE quotient."""

    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Div) and not node.args.get("typed"):
            this = node.this
            if not (isinstance(this, exp.Cast) and this.to.is_type(exp.DataType.Type.DOUBLE)):
                node.set("this", exp.cast(this, exp.DataType.build("DOUBLE")))
        return node

    return tree.transform(swap)


def _sort_key(keys: list[exp.Ordered], what: str) -> tuple[str, exp.Expression]:
    """min_by/max_by and one struct key ordering rows as `ORDER BY keys` does (all the keys one
    direction; each key led by a flag putting its NULLs where the ORDER BY puts them)."""
    if len({bool(k.args.get("desc")) for k in keys}) != 1:
        raise TranspileError(what, "an ordered aggregate with mixed ASC/DESC keys")
    desc = bool(keys[0].args.get("desc"))
    fields: list[exp.Expression] = []
    for k in keys:
        # NULLs sort before the values under min_by when the flag is false for them.
        nulls_early = bool(k.args.get("nulls_first")) != desc
        flag = exp.Is(this=k.this.copy(), expression=exp.Null())
        fields += [exp.Not(this=flag) if nulls_early else flag, k.this.copy()]
    return ("max_by" if desc else "min_by"), _call("struct", *fields)


def ordered_first(tree: exp.Expression, ctx: Context) -> exp.Expression:
    """DuckDB `first(x ORDER BY k1, k2)` is x of the first row in that order (NULL x included;
    `last` of the last row); Spark's `min_by(x, struct(k1 IS NULL, k1, k2 IS NULL, k2))` is x
    of the row with the smallest key, the flags placing NULL keys last as DuckDB's default
    (or first where the ORDER BY says so); DESC keys take max_by with the flags inverted. Exact
    when the keys order the rows fully (ties: either engine may pick any of the tied rows)."""
    what = ctx.what

    def swap(node: exp.Expression) -> exp.Expression:
        if not isinstance(node, (exp.First, exp.Last)) or not isinstance(node.this, exp.Order):
            return node
        order = node.this
        keys = [k.copy() for k in order.expressions]
        if isinstance(node, exp.Last):  # the last row in an order is the first in the reverse
            for k in keys:
                k.set("desc", not k.args.get("desc"))
                k.set("nulls_first", not k.args.get("nulls_first"))
        func, key = _sort_key(keys, what)
        return _call(func, order.this.copy(), key)

    return tree.transform(swap)


def weekday_numbers(tree: exp.Expression, ctx: Context) -> exp.Expression:
    """DuckDB `isodow(d)` is 1 (Monday) .. 7 (Sunday) and `dayofweek(d)` 0 (Sunday) .. 6;
    Spark's `weekday(d)` is 0 (Monday) .. 6 and `dayofweek(d)` 1 (Sunday) .. 7, so: `weekday(d)
    + 1` and `dayofweek(d) - 1`. (sqlglot's own mapping of isodow does not give ISO numbers.)"""

    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.DayOfWeekIso):
            return exp.paren(
                exp.Add(this=_call("weekday", node.this), expression=exp.Literal.number(1))
            )
        if isinstance(node, exp.DayOfWeek):
            return exp.paren(
                exp.Sub(this=_call("dayofweek", node.this), expression=exp.Literal.number(1))
            )
        return node

    return tree.transform(swap)


def _series_count(
    node: exp.Expression,
) -> tuple[exp.GenerateSeries, str, str, exp.Expression | None] | None:
    """(the series, its alias, its column, the WHERE) of `(SELECT count(*) FROM
    generate_series(...) AS g(d) [WHERE ...])`, else None."""
    select = node.this if isinstance(node, exp.Subquery) else None
    if not isinstance(select, exp.Select) or len(select.expressions) != 1:
        return None
    count = select.expressions[0]
    if not (isinstance(count, exp.Count) and isinstance(count.this, exp.Star)):
        return None
    if any(select.args.get(k) for k in ("joins", "group", "having", "with", "order", "limit")):
        return None
    source = select.args.get("from_") or select.args.get("from")
    table = source.this if source else None
    if not (isinstance(table, exp.Table) and isinstance(table.this, exp.GenerateSeries)):
        return None
    alias = table.args.get("alias")
    if not alias or len(alias.columns) != 1:
        return None
    where = select.args.get("where")
    return table.this, alias.name, alias.columns[0].name, where.this if where else None


def _positive(text: str) -> bool:
    try:
        return float(text) > 0
    except ValueError:
        return False


def series_count(tree: exp.Expression, ctx: Context) -> exp.Expression:
    """DuckDB `(SELECT count(*) FROM generate_series(a, b, step) AS g(d) WHERE cond(g.d))`
    counts the values from a to b (both included) meeting cond: none when a > b or either is
    NULL. Spark: `CASE WHEN a <= b THEN size(filter(sequence(a, b, step), d -> cond(d)))
    ELSE 0 END` (sequence rejects a > b with a positive step, hence the CASE). Only for a
    positive step literal (a day, a number)."""
    what = ctx.what

    def swap(node: exp.Expression) -> exp.Expression:
        parts = _series_count(node)
        if parts is None:
            return node
        series, alias, column, cond = parts
        step = series.args.get("step")
        amount = step.this if isinstance(step, exp.Interval) else step
        if (
            series.args.get("is_end_exclusive")
            or not isinstance(amount, exp.Literal)
            or not _positive(amount.name)
        ):
            shown = step.sql(READ) if step else "none"
            raise TranspileError(what, f"generate_series with a step that is not positive: {shown}")
        start, end = series.args["start"], series.args["end"]
        values = _call("sequence", start.copy(), end.copy(), step.copy())
        if cond is not None:
            var = exp.to_identifier(column)
            body = cond.copy().transform(
                lambda n: (
                    exp.column(column)
                    if isinstance(n, exp.Column) and n.name == column and n.table in ("", alias)
                    else n
                )
            )
            values = _call("filter", values, exp.Lambda(this=body, expressions=[var]))
        return exp.Case(
            ifs=[
                exp.If(
                    this=exp.LTE(this=start.copy(), expression=end.copy()),
                    true=_call("size", values),
                )
            ],
            default=exp.Literal.number(0),
        )

    return tree.transform(swap)


# The division first: the `/` other rewrites write (seconds from microseconds) are exact
# DECIMAL quotients on purpose.
FIRST: list[Rewrite] = [double_division]
LAST: list[Rewrite] = [asof_join, ordered_first, weekday_numbers, series_count]
