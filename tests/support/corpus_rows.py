"""The bad-input corpus, part 3 (the cases; tests/landing/test_corpus_*.py land them): readable files with bad rows (keys, references, row checks,
rows that cannot be split or decoded).

Each file holds one or more bad rows next to good ones. The good rows load;
each bad row is kept in ops.quarantine with its line (header = line 1), the
column at fault (None for a row that cannot even be split into fields) and a
plain-language reason that says what is wrong and why; baseline rows never
change (see `land_case`).
"""

from __future__ import annotations

import io

import polars as pl

from tests.support.corpus import (
    CUSTOMER_HEADER_LINE,
    Case,
    Loaded,
    customer_line,
    json_line,
    names_are,
    order,
    orders,
)
from tests.support.extracts import baseline_row, csv_bytes, rows_of


def order_parquet_with_float_ids() -> bytes:
    """An order-line Parquet file whose writer typed order_id as a double (725.0)."""
    header, *data = rows_of("sales_order_lines", order("N1"), order("N2"))
    frame = pl.DataFrame({h: [r[i] for r in data] for i, h in enumerate(header)})
    frame = frame.with_columns(pl.Series("order_id", [725.0, 726.5]))
    buf = io.BytesIO()
    frame.write_parquet(buf)
    return buf.getvalue()


def bad_then_good(table: str, index: int, bad: dict[str, str], good: dict[str, str]) -> bytes:
    """A file of two rows of a baseline row changed: the bad one (line 2), then a good one."""
    return csv_bytes(
        rows_of(table, baseline_row(table, index, **bad), baseline_row(table, index, **good))
    )


def one_bad_line(column: str, reason: str) -> Loaded:
    """The good row loads; line 2 is quarantined for `column` with `reason`."""
    return Loaded(1, ((2, column, reason),))


ROW_CASES = [
    Case(
        "null key",
        "erp/sales_order_lines_null_key.csv",
        orders(order(""), order("N2")),
        Loaded(1, ((2, "order_id", "missing value: order_id is required"),)),
    ),
    Case(
        "duplicate key inside the file",
        "erp/sales_order_lines_dup.csv",
        orders(order("N1"), order("N2"), order("N1", ordered_qty="7")),
        Loaded(
            1,
            (
                (
                    2,
                    "order_id",
                    "duplicate key (order_id=N1, line_no=1) appears 2 times in this file",
                ),
                (
                    4,
                    "order_id",
                    "duplicate key (order_id=N1, line_no=1) appears 2 times in this file",
                ),
            ),
        ),
    ),
    Case(
        "float-formatted id (725.0)",
        "erp/sales_order_lines_float_id.csv",
        orders(order("725"), order("725.0", line_no="2")),
        Loaded(
            1,
            (
                (
                    3,
                    "order_id",
                    "'725.0' looks like a float-formatted id; order_id must be delivered",
                ),
            ),
        ),
    ),
    Case(
        "float-formatted ids from a Parquet writer (double column)",
        "erp/sales_order_lines_float.parquet",
        order_parquet_with_float_ids(),
        Loaded(
            0,
            (
                (1, "order_id", "'725.0' looks like a float-formatted id"),
                (2, "order_id", "'726.5' looks like a float-formatted id"),
            ),
        ),
    ),
    Case(
        "unknown item",
        "erp/sales_order_lines_unknown_item.csv",
        orders(order("N1", item_id="I404"), order("N2")),
        Loaded(1, ((2, "item_id", "unknown item_id 'I404': not in items"),)),
    ),
    Case(
        "unknown location",
        "erp/sales_order_lines_unknown_loc.csv",
        orders(order("N1"), order("N2", location_id="L404")),
        Loaded(1, ((3, "location_id", "unknown location_id 'L404': not in locations"),)),
    ),
    Case(
        "unknown customer",
        "erp/sales_order_lines_unknown_cust.csv",
        orders(order("N1"), order("N2", customer_id="C404")),
        Loaded(1, ((3, "customer_id", "unknown customer_id 'C404': not in customers"),)),
    ),
    Case(
        "unknown composite reference (shipment of an unknown order line)",
        "wms/shipments_unknown_line.csv",
        csv_bytes(
            rows_of(
                "shipments",
                baseline_row("shipments", 0, shipment_id="S2"),
                baseline_row("shipments", 0, shipment_id="S2", line_no="9"),
            )
        ),
        Loaded(1, ((3, "order_id", "(order_id=O1, line_no=9) not found in sales_order_lines"),)),
    ),
    Case(
        "row-level inconsistency: putaway before arrival",
        "wms/receipts_putaway.csv",
        bad_then_good(
            "receipts",
            0,
            {"receipt_id": "RC2", "putaway_ts": "2026-03-08 05:00:00"},
            {"receipt_id": "RC3"},
        ),
        one_bad_line(
            "putaway_ts",
            "putaway_ts is before arrived_ts (putaway_ts '2026-03-08 05:00:00', arrived_ts '2026-03-08 06:00:00')",
        ),
    ),
    Case(
        "row-level inconsistency: close task done without completed_at",
        "erp/close_tasks_done.csv",
        bad_then_good("close_tasks", 1, {"task_id": "T3", "status": "done"}, {"task_id": "T4"}),
        one_bad_line(
            "status", "status is done but completed_at is empty (status 'done', completed_at empty)"
        ),
    ),
    Case(
        "row with too many fields (unquoted delimiter in a value)",
        "erp/customers_unquoted.csv",
        (
            CUSTOMER_HEADER_LINE
            + customer_line("C7")
            + customer_line("C8", name="Smith, John")
            + customer_line("C9")
        ).encode(),
        Loaded(2, ((3, None, "the row has more fields than the header (an unquoted delimiter"),)),
    ),
    Case(
        "row with too few fields in the middle of the file",
        "erp/customers_short_row.csv",
        (CUSTOMER_HEADER_LINE + "C8,Initech,Retail\n" + customer_line("C9")).encode(),
        Loaded(1, ((2, None, "the row has fewer fields than the header"),)),
    ),
    Case(
        "line with invalid UTF-8 bytes inside an otherwise UTF-8 file",
        "erp/customers_mixed_encoding.csv",
        CUSTOMER_HEADER_LINE.encode()
        + customer_line("C7", name="Zoë").encode()
        + customer_line("C8", name="Caf\xe9").encode("latin-1")
        + customer_line("C9", name="Renée").encode(),
        Loaded(
            2,
            (
                (
                    3,
                    None,
                    "the row contains bytes that are not valid UTF-8 (the file mixes encodings)",
                ),
            ),
            check=names_are({"C7": "Zoë", "C9": "Renée"}),
        ),
    ),
    Case(
        "JSON Lines with a malformed line and a non-object line",
        "erp/customers_bad_lines.jsonl",
        json_line(customer_id="C7")
        + b'{"customer_id": "C8", "name": \n'
        + b"\n"
        + b'["C8", "Initech"]\n'
        + json_line(customer_id="C9", priority_tier="x")
        + json_line(customer_id="C10"),
        Loaded(
            2,
            (
                (2, None, "the line is not valid JSON"),
                (4, None, "the line is JSON but not an object ({...})"),
                (5, "priority_tier", "'x' is not a whole number (priority_tier)"),
            ),
        ),
    ),
    Case(
        "JSON Lines with a line of invalid UTF-8",
        "erp/customers_mixed.jsonl",
        json_line(customer_id="C7", name="Zoë")
        + json_line(customer_id="C8", name="Caf\xe9").replace(b"\xc3\xa9", b"\xe9")
        + json_line(customer_id="C9", name="Renée"),
        Loaded(
            2,
            ((2, None, "the row contains bytes that are not valid UTF-8"),),
            check=names_are({"C7": "Zoë", "C9": "Renée"}),
        ),
    ),
]
