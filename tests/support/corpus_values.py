"""The bad-input corpus, part 2 (the cases; tests/landing/test_corpus_*.py land them): readable files with bad values.

Each file holds one or more rows with a value of the wrong type, format,
range or code next to good rows. The good rows load; each bad value is kept
in ops.quarantine with its line (header = line 1), its column and a reason
that quotes the value and says what was expected; baseline rows never
change (see `land_case`).
"""

from __future__ import annotations

from tests.support.corpus import (
    CUSTOMER_HEADER_LINE,
    Case,
    Loaded,
    customer_line,
    item,
    items,
    location,
    locations,
    order,
    orders,
)

VALUE_CASES = [
    Case(
        "text in integer column",
        "erp/items_text_int.csv",
        items(item("J1"), item("J2", lead_time_days="five")),
        Loaded(1, ((3, "lead_time_days", "'five' is not a whole number (lead_time_days)"),)),
    ),
    Case(
        "decimal where a whole number is expected",
        "erp/items_decimal_int.csv",
        items(item("J1"), item("J2", case_qty="12.5")),
        Loaded(1, ((3, "case_qty", "'12.5' is not a whole number (case_qty)"),)),
    ),
    Case(
        "zero case_qty",
        "erp/items_zero_case.csv",
        items(item("J1"), item("J2", case_qty="0")),
        Loaded(1, ((3, "case_qty", "case_qty must be at least 1, got 0"),)),
    ),
    Case(
        "placeholder text in numeric column (N/A)",
        "erp/items_na.csv",
        items(item("J1", unit_cost="N/A"), item("J2")),
        Loaded(1, ((2, "unit_cost", "'N/A' is not a number (unit_cost)"),)),
    ),
    Case(
        "impossible date (2026-02-30)",
        "erp/sales_order_lines_feb30.csv",
        orders(order("N1"), order("N2", requested_date="2026-02-30")),
        Loaded(
            1, ((3, "requested_date", "'2026-02-30' is not a real calendar date (requested_date)"),)
        ),
    ),
    Case(
        "wrong date format (03/15/2026)",
        "erp/sales_order_lines_us_date.csv",
        orders(order("N1", promised_date="03/15/2026"), order("N2")),
        Loaded(
            1,
            (
                (
                    2,
                    "promised_date",
                    "'03/15/2026' is not a date in YYYY-MM-DD format (promised_date)",
                ),
            ),
        ),
    ),
    Case(
        "out-of-range dates (1900-01-01, 9999-12-31)",
        "erp/sales_order_lines_range.csv",
        orders(
            order("N1", requested_date="1900-01-01"),
            order("N2"),
            order("N3", promised_date="9999-12-31"),
        ),
        Loaded(
            1,
            (
                (2, "requested_date", "'1900-01-01' is outside the plausible range 1990-2100"),
                (4, "promised_date", "'9999-12-31' is outside the plausible range 1990-2100"),
            ),
        ),
    ),
    Case(
        "negative quantity",
        "erp/sales_order_lines_negative.csv",
        orders(order("N1"), order("N2", ordered_qty="-5")),
        Loaded(1, ((3, "ordered_qty", "ordered_qty must be greater than 0, got -5"),)),
    ),
    Case(
        "unknown enum value (shippped)",
        "erp/sales_order_lines_enum.csv",
        orders(order("N1", status="shippped"), order("N2")),
        Loaded(
            1,
            (
                (
                    2,
                    "status",
                    "'shippped' is not a known status (expected one of: open, released, shipped",
                ),
            ),
        ),
    ),
    Case(
        "unknown unit of measure",
        "erp/sales_order_lines_uom.csv",
        orders(order("N1", uom="BX"), order("N2")),
        Loaded(1, ((2, "uom", "'BX' is not a known uom (expected one of: EA, CS)"),)),
    ),
    Case(
        "bad boolean",
        "erp/locations_bool.csv",
        locations(location("M1"), location("M2", wave_based="maybe")),
        Loaded(1, ((3, "wave_based", "'maybe' is not true or false (wave_based)"),)),
    ),
    Case(
        "invalid time zone name",
        "erp/locations_tz.csv",
        locations(
            location("M1", timezone="America/Chicgo"),
            location("M2", timezone="CST"),
            location("M3"),
        ),
        Loaded(
            1,
            (
                (2, "timezone", "'America/Chicgo' is not an IANA time zone name"),
                (3, "timezone", "'CST' is not an IANA time zone name"),
            ),
        ),
    ),
    Case(
        "timestamp not ISO 8601",
        "erp/sales_order_lines_ts.csv",
        orders(order("N1"), order("N2", order_ts="15/03/2026 10:00")),
        Loaded(1, ((3, "order_ts", "'15/03/2026 10:00' is not an ISO 8601 timestamp"),)),
    ),
    Case(
        "impossible time of day (25:00)",
        "erp/sales_order_lines_25h.csv",
        orders(order("N1", order_ts="2026-03-02T25:00:00"), order("N2")),
        Loaded(
            1, ((2, "order_ts", "'2026-03-02T25:00:00' is not a real date and time (order_ts)"),)
        ),
    ),
    Case(
        "value out of range (priority tier 4)",
        "erp/customers_tier.csv",
        (CUSTOMER_HEADER_LINE + customer_line("C8", tier="4") + customer_line("C9")).encode(),
        Loaded(1, ((2, "priority_tier", "priority_tier must be at most 3, got 4"),)),
    ),
    Case(
        "empty required value",
        "erp/customers_no_name.csv",
        (CUSTOMER_HEADER_LINE + customer_line("C8", name="") + customer_line("C9")).encode(),
        Loaded(1, ((2, "name", "missing value: name is required"),)),
    ),
    Case(
        "time zone name or AM/PM instead of an offset (09:00:00 UTC, 09:00:00 PM)",
        "erp/sales_order_lines_zone_name.csv",
        orders(
            order("N1", order_ts="2026-03-02 09:00:00 UTC"),
            order("N2"),
            order("N3", order_ts="2026-03-02 09:00:00 PM"),
        ),
        Loaded(
            1,
            (
                (2, "order_ts", "'2026-03-02 09:00:00 UTC' is not an ISO 8601 timestamp"),
                (4, "order_ts", "'2026-03-02 09:00:00 PM' is not an ISO 8601 timestamp"),
            ),
        ),
    ),
    Case(
        "integer in scientific or hex notation (1e3, 0x10)",
        "erp/items_int_notation.csv",
        items(item("J1", lead_time_days="1e3"), item("J2", case_qty="0x10"), item("J3")),
        Loaded(
            1,
            (
                (2, "lead_time_days", "'1e3' is not a whole number (lead_time_days)"),
                (3, "case_qty", "'0x10' is not a whole number (case_qty)"),
            ),
        ),
    ),
    Case(
        "date given as a special word (epoch)",
        "erp/sales_order_lines_epoch.csv",
        orders(order("N1", requested_date="epoch"), order("N2")),
        Loaded(1, ((2, "requested_date", "'epoch' is not a date in YYYY-MM-DD format"),)),
    ),
]
