"""A small landed warehouse for the data-health queries: two runs over hand-written extracts.

Run 1 lands inbox/ (batch ids in load order):

    batch  file                     status    rows read  loaded  quarantined rows (problems)
    1      erp/bogus.csv            rejected  -          -       -   (name is no table)
    2      erp/locations.csv        loaded    2          2       0
    3      erp/items.csv            loaded    4          2       2   (2)
    4      wms/items.csv            rejected  -          -       -   (ERP table in wms/)
    5      erp/customers.csv        loaded    2          2       0   (warning: column fax ignored)
    6      erp/sales_order_lines    loaded    6          2       4   (5: line 7 has two)

Run 2 lands inbox2/ (a run publishes only when something changed, hence batch 8):

    7      erp/items_again.csv      skipped_duplicate (same bytes as batch 3)
    8      erp/customers_update.csv loaded    2          1       0   (C2 updated, C1 older: stale)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from control_tower.settings import Settings, load_settings
from control_tower.storage.serving import ServingStore
from pipelines.run import RunReport, run_pipeline

LOCATIONS = """\
location_id,name,entity_id,region,timezone,wave_based,updated_at
DC1,Dallas DC,E1,south,America/Chicago,true,2025-01-01T00:00:00Z
DC2,Reno DC,E1,west,America/Los_Angeles,false,2025-01-01T00:00:00Z
"""

# line 4: abc_class D is not A, B or C; line 5: case_qty 0 is below 1.
ITEMS = """\
item_id,description,category,abc_class,case_qty,unit_cost,unit_price,supplier_id,lead_time_days,updated_at
I1,Widget,hardware,A,12,1.50,2.50,S1,7,2025-01-01T00:00:00Z
I2,Gadget,hardware,B,6,3.00,5.00,S1,10,2025-01-01T00:00:00Z
I3,Gizmo,hardware,D,6,3.00,5.00,S2,10,2025-01-01T00:00:00Z
I4,Doohickey,hardware,C,0,3.00,5.00,S2,10,2025-01-01T00:00:00Z
"""

CUSTOMERS = """\
customer_id,name,segment,priority_tier,region,updated_at,fax
C1,Acme,retail,1,south,2025-01-01T00:00:00Z,555-0100
C2,Bolt,wholesale,2,west,2025-01-01T00:00:00Z,
"""

# C1 is older than the landed version (not applied), C2 newer (updated).
CUSTOMERS_UPDATE = """\
customer_id,name,segment,priority_tier,region,updated_at
C1,Acme Old,retail,1,south,2024-06-01T00:00:00Z
C2,Bolt Inc,wholesale,2,west,2025-02-01T00:00:00Z
"""

# line 3: negative quantity; line 4: unknown customer; line 6: quantity not a number;
# line 7: negative quantity and unknown uom (two problems, one row). Lines 2 and 5 are good.
SALES_ORDER_LINES = """\
order_id,line_no,entity_id,customer_id,item_id,location_id,channel,order_ts,ordered_qty,uom,unit_price,requested_date,promised_date,status,updated_at
SO1,1,E1,C1,I1,DC1,edi,2025-03-01T10:00:00,5,CS,2.50,2025-03-05,2025-03-05,open,2025-03-01T10:00:00
SO1,2,E1,C1,I2,DC1,edi,2025-03-01T10:00:00,-3,EA,5.00,2025-03-05,2025-03-05,open,2025-03-01T10:00:00
SO2,1,E1,C9,I1,DC2,web,2025-03-02T11:00:00,2,EA,2.50,2025-03-06,2025-03-06,open,2025-03-02T11:00:00
SO3,1,E1,C2,I2,DC2,web,2025-03-02T12:00:00,1,EA,5.00,2025-03-06,2025-03-07,shipped,2025-03-02T12:00:00
SO4,1,E1,C2,I2,DC2,web,2025-03-02T12:00:00,abc,EA,5.00,2025-03-06,2025-03-07,open,2025-03-02T12:00:00
SO5,1,E1,C2,I1,DC1,web,2025-03-02T12:00:00,-1,BOX,5.00,2025-03-06,2025-03-07,open,2025-03-02T12:00:00
"""


@dataclass(frozen=True)
class Landed:
    """The landed tmp installation and the reports of its two runs."""

    settings: Settings
    store: ServingStore
    first: RunReport
    second: RunReport


def write_inbox(inbox: Path) -> None:
    """The run-1 extracts (see the module docstring)."""
    for system in ("erp", "wms"):
        (inbox / system).mkdir(parents=True, exist_ok=True)
    (inbox / "erp" / "bogus.csv").write_text("a,b\n1,2\n")
    (inbox / "erp" / "locations.csv").write_text(LOCATIONS)
    (inbox / "erp" / "items.csv").write_text(ITEMS)
    (inbox / "wms" / "items.csv").write_text(ITEMS)
    (inbox / "erp" / "customers.csv").write_text(CUSTOMERS)
    (inbox / "erp" / "sales_order_lines.csv").write_text(SALES_ORDER_LINES)


@pytest.fixture(scope="package")
def landed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Landed]:
    """Two runs landed into a fresh data folder, read through a serving store."""
    home = tmp_path_factory.mktemp("home")
    settings = load_settings(home).with_home(home)
    write_inbox(home / "inbox1")
    first = run_pipeline(settings, trigger="cli", inbox=home / "inbox1", keep=True)
    (home / "inbox2" / "erp").mkdir(parents=True)
    (home / "inbox2" / "erp" / "items_again.csv").write_text(ITEMS)
    (home / "inbox2" / "erp" / "customers_update.csv").write_text(CUSTOMERS_UPDATE)
    second = run_pipeline(settings, trigger="scheduler", inbox=home / "inbox2", keep=True)
    store = ServingStore(settings.serving_dir)
    yield Landed(settings, store, first, second)
    store.close()
