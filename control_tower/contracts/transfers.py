"""The WMS stock transfers table: goods moved between two sites of the company.

A transfer line leaves `from_location_id` (shipped) and arrives at `to_location_id`
(received). The tower reads it to confirm the stock transfers it requested
(`control_tower.actions.confirm`): by `reference`, the request's uid when the executing
system carries it, else by sites, item, quantity and day. Timestamps are on the shipping
site's calendar.
"""

from __future__ import annotations

from control_tower.contracts.columns import ITEM, UPDATED_AT, _id, _opt, _text
from control_tower.contracts.model import Column, Reference, Table, TimezoneSource
from control_tower.contracts.model import ColumnType as T

TRANSFER_STATUSES = ("open", "shipped", "received", "cancelled")

STOCK_TRANSFERS = Table(
    name="stock_transfers",
    system="wms",
    key=("transfer_id", "line_no"),
    cursor="updated_at",
    description="Stock transfers between the company's sites: what left one for the other.",
    grain="one row per transfer line",
    references=(
        Reference(("from_location_id",), "locations", ("location_id",)),
        Reference(("to_location_id",), "locations", ("location_id",)),
        ITEM,
    ),
    timezone=TimezoneSource(via=(("locations", (("from_location_id", "location_id"),)),)),
    columns=(
        _id("transfer_id"),
        Column("line_no", T.INT, min_value=1),
        _id("from_location_id"),
        _id("to_location_id"),
        _id("item_id"),
        Column("qty", T.QTY, min_value=0, min_exclusive=True),
        Column("uom", T.ENUM, allowed=("EA", "CS")),
        _opt(_text("reference", description="the request uid when the order carries it")),
        Column("created_at", T.TIMESTAMP),
        _opt(Column("shipped_ts", T.TIMESTAMP)),
        _opt(Column("received_ts", T.TIMESTAMP)),
        Column("status", T.ENUM, allowed=TRANSFER_STATUSES),
        UPDATED_AT,
    ),
    row_checks=(
        (
            ("to_location_id", "from_location_id"),
            "to_location_id <> from_location_id",
            "to_location_id is the same site as from_location_id",
        ),
        (
            ("received_ts", "shipped_ts"),
            "received_ts IS NULL OR shipped_ts IS NULL OR received_ts >= shipped_ts",
            "received_ts is before shipped_ts",
        ),
    ),
)
