"""The late-order risk of a promise being considered: hypothetical order lines scored by the
active late-order model, with the very features it scores open lines with.

Each line (`control_tower.promising.answer.PromiseLine`: item, location,
quantity, promised date, requested date, optional customer) is read as an
order line placed on the as-of day T, open in full, first promised on its
date (`late_frame`'s `extra` lines): its stock, demand, location, customer
and calendar features come from the same query as the nightly scores; the
group features (late shares, backlog, waves, carriers) are those of the
landed lines. A line without a customer (or channel) has those features unknown.

`promise_risk(con, models_dir)` returns the `risk` callable that
`promising.answer.answer` takes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from control_tower.kpi.serving import kept
from control_tower.promising.answer import PromiseLine, RiskFn, RiskScores
from control_tower.risk.champion import ranked_by
from control_tower.risk.late_features import late_frame, late_groups
from control_tower.risk.store import NoModelError, load_model

# Keys of the hypothetical lines: an order id no landed key can have (keys are trimmed text).
_ORDER_ID = " promise"
NO_MODEL = "no trained late_order model; train one with `control-tower risk train`"


def _hypothetical(
    con: duckdb.DuckDBPyConnection, lines: Sequence[PromiseLine], as_of: date
) -> pl.DataFrame:
    """The lines as rows of `sales_order_lines` (base units, the item's list price)."""
    price = dict(con.execute("SELECT item_id, CAST(unit_price AS DOUBLE) FROM items").fetchall())
    entity = dict(con.execute("SELECT location_id, entity_id FROM locations").fetchall())
    return pl.DataFrame(
        {
            "order_id": [_ORDER_ID] * len(lines),
            "line_no": list(range(1, len(lines) + 1)),
            "entity_id": [entity.get(x.location_id) for x in lines],
            "customer_id": [x.customer_id for x in lines],
            "channel": [x.channel for x in lines],
            "item_id": [x.item_id for x in lines],
            "location_id": [x.location_id for x in lines],
            "order_ts_local_date": [as_of] * len(lines),
            "requested_date": [x.requested_date for x in lines],
            "promised_date": [x.promised_date for x in lines],
            "first_promised_date": [x.promised_date for x in lines],
            "ordered_qty": [float(x.qty) for x in lines],
            "unit_price": [price.get(x.item_id) for x in lines],
            "uom_factor": [1] * len(lines),
            "status": ["open"] * len(lines),
        },
        schema_overrides={"line_no": pl.Int32, "uom_factor": pl.Int32},
    )


def late_risk(
    con: duckdb.DuckDBPyConnection, models_dir: Path, lines: Sequence[PromiseLine], as_of: date
) -> RiskScores:
    """The late-order model's probability for each line, in order; all None, with the reason,
    when no model is trained."""
    if not lines:
        return RiskScores(())
    try:
        fitted, card = load_model(models_dir, "late_order")
    except NoModelError:  # its message names the models folder: not for API clients
        return RiskScores((None,) * len(lines), NO_MODEL)
    extra = _hypothetical(con, lines, as_of)
    keys = extra.select("order_id", "line_no")
    # The group features depend on the snapshot and the day only: the web app keeps them
    # once per snapshot (`kept`), so only the first answer of a snapshot computes them.
    groups = kept(("risk.late_groups", as_of), lambda: late_groups(con, [as_of]))
    df = late_frame(con, [as_of], lines=keys, extra=extra, groups=groups)
    # the probability that ranks the late-order scores: the model's, or the rule's when the
    # model did not beat it (`risk.champion`)
    by_rule = ranked_by(card) == "rule" and fitted.rule is not None
    prob = fitted.baseline_probability(df) if by_rule else fitted.probability(df)
    by_line = dict(zip(df["line_no"].to_list(), prob.tolist(), strict=True))
    source = (
        f"the no-stock rule (late-order model {card['version']} did not beat it)"
        if by_rule
        else f"late-order model {card['version']}"
    )
    return RiskScores(tuple(by_line.get(n) for n in range(1, len(lines) + 1)), source)


def promise_risk(con: duckdb.DuckDBPyConnection, models_dir: Path) -> RiskFn:
    """`late_risk` bound to a connection and models folder: the `risk` of `promising.answer`."""

    def risk(lines: Sequence[PromiseLine], as_of: date) -> RiskScores:
        return late_risk(con, models_dir, lines, as_of)

    return risk
