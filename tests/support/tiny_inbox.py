"""A tiny valid inbox for pipeline tests: master data plus numbered order-line files."""

from __future__ import annotations

from pathlib import Path

LOCATIONS = """location_id,name,entity_id,region,timezone,wave_based,updated_at
DC-CHI,Chicago DC,US01,Midwest,America/Chicago,true,2026-01-01T00:00:00Z
DC-RTM,Rotterdam DC,NL01,Benelux,Europe/Amsterdam,true,2026-01-01T00:00:00Z
"""
ITEMS = """item_id,description,category,abc_class,case_qty,unit_cost,unit_price,supplier_id,lead_time_days,updated_at
I1,Widget,Tools,A,12,1.50,3.00,S1,7,2026-01-01T00:00:00Z
I2,Gadget,Tools,C,1,2.00,4.00,S1,14,2026-01-01T00:00:00Z
"""
CUSTOMERS = """customer_id,name,segment,priority_tier,region,updated_at
C1,Acme Retail,retail,1,US,2026-01-01T00:00:00Z
"""
ORDER_HEADER = (
    "order_id,line_no,entity_id,customer_id,item_id,location_id,channel,order_ts,ordered_qty,"
    "uom,unit_price,requested_date,promised_date,status,updated_at\n"
)


def write_master(inbox: Path) -> None:
    """Locations, items and customers every order line refers to."""
    erp = inbox / "erp"
    erp.mkdir(parents=True, exist_ok=True)
    (erp / "locations.csv").write_text(LOCATIONS)
    (erp / "items.csv").write_text(ITEMS)
    (erp / "customers.csv").write_text(CUSTOMERS)


def write_orders(inbox: Path, n: int, lines: int) -> Path:
    """Order-line file number `n` with `lines` new lines (orders SO<n>-<i>), written atomically."""
    erp = inbox / "erp"
    erp.mkdir(parents=True, exist_ok=True)
    rows = [
        f"SO{n}-{i},1,US01,C1,I{1 + i % 2},DC-CHI,EDI,2026-03-01T10:00:00,{1 + i % 5},EA,3.00,"
        f"2026-03-05,2026-03-05,open,2026-03-01T10:00:00\n"
        for i in range(lines)
    ]
    tmp = erp / f".sales_order_lines_{n:04d}.csv"
    tmp.write_text(ORDER_HEADER + "".join(rows))
    final = erp / f"sales_order_lines_{n:04d}.csv"
    tmp.rename(final)
    return final
