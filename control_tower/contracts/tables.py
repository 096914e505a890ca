"""The canonical tables of the ERP, WMS and TMS extracts (docs/extract-contract.md, as code)."""

from __future__ import annotations

from control_tower.contracts.columns import ITEM, LOC, UPDATED_AT, _id, _nullable, _opt, _text
from control_tower.contracts.model import Column, Reference, Table, TimezoneSource
from control_tower.contracts.model import ColumnType as T
from control_tower.contracts.money import ENTITIES, FX_RATES, SUPPLIERS
from control_tower.contracts.transfers import STOCK_TRANSFERS

SYSTEMS: tuple[str, ...] = ("erp", "wms", "tms")

SALES_STATUSES = ("open", "released", "shipped", "closed", "cancelled", "backordered")
PO_STATUSES = ("open", "received", "closed", "cancelled")
MATCH_STATUSES = ("matched", "price_variance", "qty_variance", "no_receipt", "pending")
RETURN_REASONS = ("damaged", "wrong_item", "late", "customer_change", "other")
WAVE_STATUSES = ("planned", "released", "completed", "cancelled")
FREIGHT_STATUSES = ("tendered", "in_transit", "delivered", "exception", "cancelled")
TRACKING_EVENTS = ("tendered", "picked_up", "in_transit", "delay", "exception", "delivered")
UOMS = ("EA", "CS")


ITEMS = Table(
    name="items",
    system="erp",
    key=("item_id",),
    cursor="updated_at",
    description="Item master: what the company sells, its ABC class, case pack, cost and price.",
    grain="one row per item",
    freshness_sla_hours=24 * 7,
    columns=(
        _id("item_id"),
        _text("description"),
        _text("category"),
        Column("abc_class", T.ENUM, allowed=("A", "B", "C")),
        Column("case_qty", T.INT, min_value=1),
        Column("unit_cost", T.DECIMAL, min_value=0),
        Column("unit_price", T.DECIMAL, min_value=0),
        _id("supplier_id"),
        Column("lead_time_days", T.INT, min_value=0),
        UPDATED_AT,
    ),
)

CUSTOMERS = Table(
    name="customers",
    system="erp",
    key=("customer_id",),
    cursor="updated_at",
    description="Customer master with service tier (1 is the highest priority).",
    grain="one row per customer",
    freshness_sla_hours=24 * 7,
    columns=(
        _id("customer_id"),
        _text("name"),
        _text("segment"),
        Column("priority_tier", T.INT, min_value=1, max_value=3),
        _text("region"),
        UPDATED_AT,
    ),
)

LOCATIONS = Table(
    name="locations",
    system="erp",
    key=("location_id",),
    cursor="updated_at",
    description="Warehouses and the legal entity each belongs to, with its time zone.",
    grain="one row per location",
    freshness_sla_hours=24 * 30,
    columns=(
        _id("location_id"),
        _text("name"),
        _id("entity_id"),
        _text("region"),
        Column("timezone", T.TIMEZONE),
        Column("wave_based", T.BOOL),
        UPDATED_AT,
    ),
)

SALES_ORDER_LINES = Table(
    name="sales_order_lines",
    system="erp",
    key=("order_id", "line_no"),
    cursor="updated_at",
    description="Customer order lines with requested and promised dates; quantities in base units.",
    grain="one row per order line",
    references=(
        Reference(("customer_id",), "customers", ("customer_id",)),
        ITEM,
        LOC,
    ),
    columns=(
        _id("order_id"),
        Column("line_no", T.INT, min_value=1),
        _id("entity_id"),
        _id("customer_id"),
        _id("item_id"),
        _id("location_id"),
        _text("channel"),
        Column("order_ts", T.TIMESTAMP),
        Column("ordered_qty", T.QTY, min_value=0, min_exclusive=True),
        Column("uom", T.ENUM, allowed=UOMS),
        Column("unit_price", T.DECIMAL, min_value=0),
        Column("requested_date", T.DATE),
        Column("promised_date", T.DATE),
        _opt(Column("first_promised_date", T.DATE)),
        Column("status", T.ENUM, allowed=SALES_STATUSES),
        UPDATED_AT,
    ),
)

PURCHASE_ORDER_LINES = Table(
    name="purchase_order_lines",
    system="erp",
    key=("po_id", "line_no"),
    cursor="updated_at",
    description="Inbound purchase order lines with their expected arrival date.",
    grain="one row per purchase order line",
    references=(ITEM, LOC),
    columns=(
        _id("po_id"),
        Column("line_no", T.INT, min_value=1),
        _id("supplier_id"),
        _id("item_id"),
        _id("location_id"),
        Column("ordered_qty", T.QTY, min_value=0, min_exclusive=True),
        Column("uom", T.ENUM, allowed=UOMS),
        Column("unit_cost", T.DECIMAL, min_value=0),
        Column("order_date", T.DATE),
        Column("expected_date", T.DATE),
        Column("status", T.ENUM, allowed=PO_STATUSES),
        UPDATED_AT,
    ),
    row_checks=(
        (
            ("expected_date", "order_date"),
            "expected_date >= order_date",
            "expected_date is before order_date",
        ),
    ),
)

AP_INVOICE_LINES = Table(
    name="ap_invoice_lines",
    system="erp",
    key=("invoice_id", "line_no"),
    cursor="updated_at",
    description="Supplier invoice lines and their three-way match result.",
    grain="one row per supplier invoice line",
    columns=(
        _id("invoice_id"),
        Column("line_no", T.INT, min_value=1),
        _id("entity_id"),
        _id("supplier_id"),
        _nullable(_id("po_id")),
        _nullable(Column("po_line_no", T.INT, min_value=1)),
        Column("invoiced_qty", T.DECIMAL),
        Column("invoiced_unit_cost", T.DECIMAL, min_value=0),
        Column("invoice_date", T.DATE),
        Column("first_pass_matched", T.BOOL),
        Column("match_status", T.ENUM, allowed=MATCH_STATUSES),
        UPDATED_AT,
    ),
    row_checks=(
        (
            ("po_line_no", "po_id"),
            "po_line_no IS NULL OR po_id IS NOT NULL",
            "po_line_no is set but po_id is empty",
        ),
    ),
)

RETURNS = Table(
    name="returns",
    system="erp",
    key=("rma_id", "line_no"),
    description="Customer returns (RMA lines) against shipped order lines.",
    grain="one row per return line",
    references=(
        Reference(("order_id", "order_line_no"), "sales_order_lines", ("order_id", "line_no")),
        ITEM,
    ),
    timezone=TimezoneSource(
        via=(("sales_order_lines", (("order_id", "order_id"), ("order_line_no", "line_no"))),)
    ),
    columns=(
        _id("rma_id"),
        Column("line_no", T.INT, min_value=1),
        _id("order_id"),
        Column("order_line_no", T.INT, min_value=1),
        _id("item_id"),
        Column("returned_qty", T.QTY, min_value=0, min_exclusive=True),
        Column("reason_code", T.ENUM, allowed=RETURN_REASONS),
        Column("created_at", T.TIMESTAMP),
        _opt(Column("credited_at", T.TIMESTAMP)),
    ),
    row_checks=(
        (
            ("credited_at", "created_at"),
            "credited_at IS NULL OR credited_at >= created_at",
            "credited_at is before created_at",
        ),
    ),
)

CLOSE_TASKS = Table(
    name="close_tasks",
    system="erp",
    key=("entity_id", "period", "task_id"),
    cursor="updated_at",
    description="Month-end close checklist tasks per entity and period.",
    grain="one row per entity, period and close task",
    timezone=TimezoneSource(utc=True),
    freshness_sla_hours=24 * 7,
    columns=(
        _id("entity_id"),
        Column("period", T.PERIOD),
        _id("task_id"),
        _text("task_name"),
        _text("category"),
        _text("owner"),
        Column("due_date", T.DATE),
        _opt(Column("completed_at", T.TIMESTAMP)),
        Column("status", T.ENUM, allowed=("open", "done")),
        UPDATED_AT,
    ),
    row_checks=(
        (
            ("status", "completed_at"),
            "status <> 'done' OR completed_at IS NOT NULL",
            "status is done but completed_at is empty",
        ),
    ),
)

INVENTORY_SNAPSHOTS = Table(
    name="inventory_snapshots",
    system="wms",
    key=("snapshot_date", "location_id", "item_id"),
    description="Daily stock position per item and location (semi-additive: never sum across dates).",
    grain="one row per snapshot date, location and item",
    references=(LOC, ITEM),
    columns=(
        Column("snapshot_date", T.DATE),
        _id("location_id"),
        _id("item_id"),
        Column("on_hand_qty", T.QTY),
        Column("allocated_qty", T.QTY, min_value=0),
        Column("quarantined_qty", T.QTY, min_value=0),
        Column("in_transit_qty", T.QTY, min_value=0),
    ),
)

CYCLE_COUNTS = Table(
    name="cycle_counts",
    system="wms",
    key=("count_id",),
    description="Cycle counts: the system quantity against the counted quantity in a bin.",
    grain="one row per cycle count",
    references=(LOC, ITEM),
    columns=(
        _id("count_id"),
        _id("location_id"),
        _id("bin_id"),
        _id("item_id"),
        Column("counted_at", T.TIMESTAMP),
        Column("system_qty", T.QTY, min_value=0),
        Column("counted_qty", T.QTY, min_value=0),
        _id("counter_id"),
    ),
)

WAVES = Table(
    name="waves",
    system="wms",
    key=("wave_id",),
    cursor="updated_at",
    description="Pick waves: planned and actual release and completion.",
    grain="one row per wave",
    references=(LOC,),
    columns=(
        _id("wave_id"),
        _id("location_id"),
        Column("planned_release_ts", T.TIMESTAMP),
        _opt(Column("released_ts", T.TIMESTAMP)),
        Column("planned_complete_ts", T.TIMESTAMP),
        _opt(Column("completed_ts", T.TIMESTAMP)),
        Column("lines_planned", T.INT, min_value=0),
        Column("lines_picked", T.INT, min_value=0),
        Column("status", T.ENUM, allowed=WAVE_STATUSES),
        UPDATED_AT,
    ),
    row_checks=(
        (
            ("planned_complete_ts", "planned_release_ts"),
            "planned_complete_ts >= planned_release_ts",
            "planned_complete_ts is before planned_release_ts",
        ),
        (
            ("completed_ts", "released_ts"),
            "completed_ts IS NULL OR released_ts IS NULL OR completed_ts >= released_ts",
            "completed_ts is before released_ts",
        ),
    ),
)

SHIPMENTS = Table(
    name="shipments",
    system="wms",
    key=("shipment_id", "order_id", "line_no"),
    description="What left the warehouse for each order line (a line may ship in several shipments).",
    grain="one row per shipment and order line",
    references=(
        Reference(("order_id", "line_no"), "sales_order_lines", ("order_id", "line_no")),
        ITEM,
        LOC,
    ),
    columns=(
        _id("shipment_id"),
        _id("order_id"),
        Column("line_no", T.INT, min_value=1),
        _id("item_id"),
        _id("location_id"),
        _opt(_id("wave_id")),
        Column("shipped_qty", T.QTY, min_value=0, min_exclusive=True),
        Column("uom", T.ENUM, allowed=UOMS),
        Column("shipped_ts", T.TIMESTAMP),
    ),
)

RECEIPTS = Table(
    name="receipts",
    system="wms",
    key=("receipt_id", "line_no"),
    description="Inbound receipts against purchase order lines, with put-away time.",
    grain="one row per receipt line",
    references=(
        Reference(("po_id", "po_line_no"), "purchase_order_lines", ("po_id", "line_no")),
        ITEM,
        LOC,
    ),
    columns=(
        _id("receipt_id"),
        Column("line_no", T.INT, min_value=1),
        _id("po_id"),
        Column("po_line_no", T.INT, min_value=1),
        _id("item_id"),
        _id("location_id"),
        Column("received_qty", T.QTY, min_value=0),
        Column("damaged_qty", T.QTY, min_value=0),
        Column("arrived_ts", T.TIMESTAMP),
        _opt(Column("putaway_ts", T.TIMESTAMP)),
    ),
    row_checks=(
        (
            ("putaway_ts", "arrived_ts"),
            "putaway_ts IS NULL OR putaway_ts >= arrived_ts",
            "putaway_ts is before arrived_ts",
        ),
        (
            ("damaged_qty", "received_qty"),
            "damaged_qty <= received_qty",
            "damaged_qty is larger than received_qty",
        ),
    ),
)

INVENTORY_ADJUSTMENTS = Table(
    name="inventory_adjustments",
    system="wms",
    key=("adjustment_id",),
    description="Manual stock adjustments with reason and user.",
    grain="one row per adjustment",
    references=(LOC, ITEM),
    columns=(
        _id("adjustment_id"),
        _id("location_id"),
        _id("item_id"),
        Column("adjusted_at", T.TIMESTAMP),
        Column("qty_delta", T.QTY),
        _text("reason_code"),
        _id("user_id"),
    ),
)

FREIGHT_SHIPMENTS = Table(
    name="freight_shipments",
    system="tms",
    key=("tms_shipment_id",),
    cursor="updated_at",
    description="Freight moves in the TMS: carrier, promised and actual pickup and delivery, cost.",
    grain="one row per freight shipment",
    references=(Reference(("shipment_id",), "shipments", ("shipment_id",)),),
    timezone=TimezoneSource(via=(("shipments", (("shipment_id", "shipment_id"),)),)),
    columns=(
        _id("tms_shipment_id"),
        _id("shipment_id"),
        _id("carrier_id"),
        _text("mode"),
        _text("service_level"),
        Column("planned_pickup_ts", T.TIMESTAMP),
        _opt(Column("actual_pickup_ts", T.TIMESTAMP)),
        Column("promised_delivery_ts", T.TIMESTAMP),
        _opt(Column("actual_delivery_ts", T.TIMESTAMP)),
        Column("planned_freight_cost", T.DECIMAL, min_value=0),
        _opt(Column("actual_freight_cost", T.DECIMAL, min_value=0)),
        Column("expedited", T.BOOL),
        Column("status", T.ENUM, allowed=FREIGHT_STATUSES),
        UPDATED_AT,
    ),
    row_checks=(
        (
            ("actual_delivery_ts", "actual_pickup_ts"),
            "actual_delivery_ts IS NULL OR actual_pickup_ts IS NULL OR actual_delivery_ts >= actual_pickup_ts",
            "actual_delivery_ts is before actual_pickup_ts",
        ),
    ),
)

TRACKING_EVENTS_TABLE = Table(
    name="tracking_events",
    system="tms",
    key=("tms_shipment_id", "event_ts", "event_type"),
    description="Carrier tracking events for freight shipments.",
    grain="one row per freight shipment, event time and event type",
    references=(Reference(("tms_shipment_id",), "freight_shipments", ("tms_shipment_id",)),),
    timezone=TimezoneSource(
        via=(
            ("freight_shipments", (("tms_shipment_id", "tms_shipment_id"),)),
            ("shipments", (("shipment_id", "shipment_id"),)),
        )
    ),
    columns=(
        _id("tms_shipment_id"),
        Column("event_ts", T.TIMESTAMP),
        Column("event_type", T.ENUM, allowed=TRACKING_EVENTS),
        _opt(_text("reason")),
        _opt(_text("location")),
    ),
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        ENTITIES,
        FX_RATES,
        LOCATIONS,
        SUPPLIERS,
        ITEMS,
        CUSTOMERS,
        SALES_ORDER_LINES,
        PURCHASE_ORDER_LINES,
        AP_INVOICE_LINES,
        RETURNS,
        CLOSE_TASKS,
        INVENTORY_SNAPSHOTS,
        CYCLE_COUNTS,
        WAVES,
        SHIPMENTS,
        RECEIPTS,
        INVENTORY_ADJUSTMENTS,
        STOCK_TRANSFERS,
        FREIGHT_SHIPMENTS,
        TRACKING_EVENTS_TABLE,
    )
}

# Tables are landed in this order within a run, so that a row's references
# (items, locations, the order line a shipment carries) are already there.
LOAD_ORDER: tuple[str, ...] = tuple(TABLES)


def table(name: str) -> Table:
    """The contract table called `name`; KeyError names the known tables."""
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"no contract table {name!r}; known: {', '.join(TABLES)}") from None


def tables_for_system(system: str) -> list[Table]:
    """Contract tables delivered by one source system, in load order."""
    return [t for t in TABLES.values() if t.system == system]
