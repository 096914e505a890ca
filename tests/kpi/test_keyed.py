"""A model's `incremental` block: refused with file, key and reason when it cannot be used, and
turned into SQL that reads each scoped table restricted to the keys in scope."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot

from control_tower.kpi.catalog import load_catalog
from control_tower.kpi.keyed import SCOPE, scoped_sql
from tests.support.kpi_rows import refusal

ORDERS_BLOCK = """incremental:
  # A delta rebuilds only the orders whose lines changed (see docs/kpis.md).
  keys_from:
    order_lines: SELECT order_id FROM touched
  scoped:
    order_lines: SELECT * FROM order_lines SEMI JOIN scope USING (order_id)
"""


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (
            "incremental:\n  keys_from: {order_lines: SELECT order_id FROM touched}\n",
            "models/orders.yml:40: incremental.scoped: is required",
        ),
        (
            ORDERS_BLOCK.replace(
                "SELECT order_id FROM touched", "SELECT order_id, 1 AS n FROM touched"
            ),
            "incremental.keys_from.order_lines: must select exactly the key columns ['order_id'], "
            "not ['order_id', 'n']",
        ),
        (
            ORDERS_BLOCK.replace(
                "    order_lines: SELECT order_id", "    returns: SELECT order_id"
            ),
            "incremental.keys_from.returns: the model does not read 'returns' "
            "(it reads: order_lines)",
        ),
        (
            ORDERS_BLOCK.replace(
                "    order_lines: SELECT order_id", "    returns: SELECT order_id"
            ),
            "incremental.keys_from: must map the models it uses (order_lines) to the keys their "
            "changed rows reach",
        ),
        (
            ORDERS_BLOCK.replace(" SEMI JOIN scope USING (order_id)", ""),
            "incremental.scoped.order_lines: must read 'order_lines' restricted to the keys in "
            "'scope'",
        ),
        (
            ORDERS_BLOCK.replace(
                "SELECT * FROM order_lines SEMI JOIN scope USING (order_id)",
                "DELETE FROM order_lines WHERE order_id IN (SELECT order_id FROM scope)",
            ),
            "incremental.scoped.order_lines: must be a single SELECT",
        ),
        (
            ORDERS_BLOCK.replace("SELECT * FROM order_lines SEMI", "SELEC * FROM order_lines SEMI"),
            "incremental.scoped.order_lines: does not parse",
        ),
        (
            ORDERS_BLOCK.replace("FROM touched", "FROM touched WHERE order_date < $since"),
            "incremental.keys_from.order_lines: uses $since, which is not a declared parameter",
        ),
        (
            ORDERS_BLOCK.replace("  scoped:", "  scope:"),
            "incremental.scope: unknown key (allowed: keys_from, scoped)",
        ),
        (
            ORDERS_BLOCK.replace("SELECT order_id FROM touched", "[order_id]"),
            "incremental.keys_from.order_lines: must be the SQL text of a SELECT",
        ),
    ],
)
def test_a_bad_incremental_block_is_refused(root: Path, block: str, message: str) -> None:
    path = root / "models" / "orders.yml"
    text = path.read_text()
    assert ORDERS_BLOCK in text
    path.write_text(text.replace(ORDERS_BLOCK, block))
    assert message in refusal(root)


def test_scoped_tables_are_replaced_on_the_syntax_tree() -> None:
    model = load_catalog().models["order_lines"]
    tree = sqlglot.parse_one(scoped_sql(model), dialect="duckdb")
    subqueries = {s.alias: s.this for s in tree.find_all(sqlglot.exp.Subquery) if s.alias}
    # Each reference keeps its alias over the scoped rows; the keys come from the scope table.
    for alias in ("s", "sales_order_lines", "returns"):
        reads = {t.name for t in subqueries[alias].find_all(sqlglot.exp.Table)}
        assert SCOPE in reads, alias
    # The lookups read whole, and a CTE named like nothing landed is left alone.
    assert {t.name for t in tree.find_all(sqlglot.exp.Table)} >= {"items", "customers", "lines"}


def test_how_a_model_is_refreshed_does_not_change_the_content_hash_of_its_kpis(root: Path) -> None:
    before = load_catalog(root).kpi("order_fill_rate")  # certified, on orders over order_lines
    for name in ("orders", "order_lines"):
        path = root / "models" / f"{name}.yml"
        text = path.read_text()
        path.write_text(text[: text.index("incremental:")])
    after = load_catalog(root).kpi("order_fill_rate")
    assert after.chain[0].incremental is None
    assert after.content_hash == before.content_hash
