"""Turn the engine's numeric row buffers into contract tables and write them.

ERP timestamps carry the local offset of the row's location (close tasks: the
entity's head office), WMS timestamps are naive local time, TMS timestamps UTC `Z`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from control_tower.contracts.transfers import TRANSFER_STATUSES
from control_tower.demo.clock import (
    DAY,
    date_column,
    id_column,
    labels,
    money_column,
    to_date,
    ts_column,
)
from control_tower.demo.config import (
    ADJUST_REASONS,
    CARRIERS,
    CHANNELS,
    CLOSE_OWNERS,
    CLOSE_TASKS,
    DELAY_REASONS,
    ENTITIES,
    ENTITY_SITE,
    EVENT_TYPES,
    FREIGHT_STATUS,
    MATCH_STATUS,
    MODES,
    ODD_USERS,
    PO_STATUS,
    RETURN_REASONS,
    SALES_STATUS,
    SERVICE_LEVELS,
    SITES,
    WAVE_STATUS,
)
from control_tower.demo.inbound import N_SERVICE_SUPPLIERS
from control_tower.demo.outbound import PLACES
from control_tower.demo.warehouse import COUNTER, ODD

if TYPE_CHECKING:
    from control_tower.demo.engine import Engine
    from control_tower.demo.sink import Sink

Buffer = dict[str, np.ndarray]
LOCATION_IDS = [s.location_id for s in SITES]
SITE_ENTITY = [s.entity_id for s in SITES]
UOM = ("EA", "CS")


def _ts(eng: Engine, t: np.ndarray, loc: np.ndarray | None, style: str) -> pl.Series:
    return ts_column(eng.clock, t, loc, style)


def _int_or_null(v: np.ndarray) -> pl.Series:
    s = pl.Series(np.asarray(v, dtype=np.int64))
    return pl.select(pl.when(s >= 0).then(s).otherwise(None)).to_series()


def _utc_month(eng: Engine, t: np.ndarray) -> np.ndarray:
    return eng.clock.month(np.asarray(t) // DAY)


def _sales_frame(eng: Engine, b: Buffer) -> pl.DataFrame:
    m, loc = eng.m, b["loc"]
    return pl.DataFrame(
        {
            "order_id": id_column("SO", b["order_no"]),
            "line_no": b["line_no"],
            "entity_id": labels(SITE_ENTITY, loc),
            "customer_id": m.cust_ids.gather(b["cust"]),
            "item_id": m.item_ids.gather(b["item"]),
            "location_id": labels(LOCATION_IDS, loc),
            "channel": labels(CHANNELS, b["chan"]),
            "order_ts": _ts(eng, b["order_ts"], loc, "erp"),
            "ordered_qty": b["qty_uom"],
            "uom": labels(UOM, b["uom"]),
            "unit_price": money_column(b["price_c"]),
            "requested_date": date_column(b["requested"]),
            "promised_date": date_column(b["promised"]),
            "status": labels(SALES_STATUS, b["status"]),
            "updated_at": _ts(eng, b["upd"], loc, "erp"),
        }
    )


def sales_order_lines(eng: Engine, sink: Sink, b: Buffer) -> None:
    """First versions, one file per month of order date."""
    sink.write_monthly("sales_order_lines", _sales_frame(eng, b), eng.clock.month(b["order_day"]))


def sales_order_lines_updates(eng: Engine, sink: Sink, b: Buffer) -> None:
    """Newer versions of changed lines, one file named after as_of."""
    suffix = f"_updates_{to_date(eng.as_of_day).isoformat()}"
    sink.write("sales_order_lines", _sales_frame(eng, b), suffix)


def purchase_order_lines(eng: Engine, sink: Sink, b: Buffer) -> None:
    m, loc = eng.m, b["loc"]
    frame = pl.DataFrame(
        {
            "po_id": id_column("PO", b["po_no"]),
            "line_no": b["line_no"],
            "supplier_id": m.sup_ids.gather(b["sup"]),
            "item_id": m.item_ids.gather(b["item"]),
            "location_id": labels(LOCATION_IDS, loc),
            "ordered_qty": b["qty_uom"],
            "uom": labels(UOM, b["uom"]),
            "unit_cost": money_column(b["cost_c"]),
            "order_date": date_column(b["order_day"]),
            "expected_date": date_column(b["expected"]),
            "status": labels(PO_STATUS, b["status"]),
            "updated_at": _ts(eng, b["upd"], loc, "erp"),
        }
    )
    sink.write_monthly("purchase_order_lines", frame, eng.clock.month(b["order_day"]))


def ap_invoice_lines(eng: Engine, sink: Sink, b: Buffer) -> None:
    m, loc = eng.m, b["loc"]
    svc = pl.Series([f"SVC{k + 1:03d}" for k in range(N_SERVICE_SUPPLIERS)], dtype=pl.String)
    suppliers = pl.concat([m.sup_ids, svc])
    frame = pl.DataFrame(
        {
            "invoice_id": id_column("INV", b["inv_no"]),
            "line_no": b["line_no"],
            "entity_id": labels(SITE_ENTITY, loc),
            "supplier_id": suppliers.gather(b["sup"]),
            "po_id": id_column("PO", b["po_no"]),
            "po_line_no": _int_or_null(b["po_line"]),
            "invoiced_qty": b["qty"],
            "invoiced_unit_cost": money_column(b["cost_c"]),
            "invoice_date": date_column(b["inv_day"]),
            "first_pass_matched": b["first_pass"].astype(bool),
            "match_status": labels(MATCH_STATUS, b["status"]),
            "updated_at": _ts(eng, b["upd"], loc, "erp"),
        }
    )
    sink.write_monthly("ap_invoice_lines", frame, eng.clock.month(b["inv_day"]))


def returns(eng: Engine, sink: Sink, b: Buffer) -> None:
    loc = b["loc"]
    frame = pl.DataFrame(
        {
            "rma_id": id_column("RMA", b["rma_no"]),
            "line_no": b["line_no"],
            "order_id": id_column("SO", b["order_no"]),
            "order_line_no": b["order_line"],
            "item_id": eng.m.item_ids.gather(b["item"]),
            "returned_qty": b["qty"],
            "reason_code": labels(RETURN_REASONS, b["reason"]),
            "created_at": _ts(eng, b["created"], loc, "erp"),
            "credited_at": _ts(eng, b["credited"], loc, "erp"),
        }
    )
    sink.write_monthly("returns", frame, _utc_month(eng, b["created"]))


def close_tasks(eng: Engine, sink: Sink, b: Buffer) -> None:
    site = np.array(ENTITY_SITE)[b["entity"]]
    period = pl.Series([f"{c // 12:04d}-{c % 12 + 1:02d}" for c in b["period"]], dtype=pl.String)
    owners = [o for ent in CLOSE_OWNERS for o in ent]
    role = np.array([t[3] for t in CLOSE_TASKS])[b["task"]]
    frame = pl.DataFrame(
        {
            "entity_id": labels(ENTITIES, b["entity"]),
            "period": period,
            "task_id": labels([t[0] for t in CLOSE_TASKS], b["task"]),
            "task_name": labels([t[1] for t in CLOSE_TASKS], b["task"]),
            "category": labels([t[2] for t in CLOSE_TASKS], b["task"]),
            "owner": labels(owners, b["entity"] * len(CLOSE_OWNERS[0]) + role),
            "due_date": date_column(b["due"]),
            "completed_at": _ts(eng, b["done"], site, "erp"),
            "status": labels(("open", "done"), b["status"]),
            "updated_at": _ts(eng, b["upd"], site, "erp"),
        }
    )
    sink.write("close_tasks", frame)


def inventory_snapshots(eng: Engine, sink: Sink) -> None:
    """Daily stock per stocked item-location (Parquet), from the engine's snapshot list."""
    if not eng.snapshots:
        return
    m = eng.m
    days = np.repeat([s[0] for s in eng.snapshots], m.n_il)
    il = np.tile(np.arange(m.n_il), len(eng.snapshots))
    frame = pl.DataFrame(
        {
            "snapshot_date": date_column(days),
            "location_id": labels(LOCATION_IDS, m.il_loc[il]),
            "item_id": m.item_ids.gather(m.il_item[il]),
            "on_hand_qty": np.concatenate([s[1] for s in eng.snapshots]),
            "allocated_qty": np.concatenate([s[2] for s in eng.snapshots]),
            "quarantined_qty": np.concatenate([s[3] for s in eng.snapshots]),
            "in_transit_qty": np.concatenate([s[4] for s in eng.snapshots]),
        }
    )
    eng.snapshots.clear()
    sink.write_monthly("inventory_snapshots", frame, eng.clock.month(days))


def cycle_counts(eng: Engine, sink: Sink, b: Buffer) -> None:
    m = eng.m
    loc = m.il_loc[b["il"]]
    codes = pl.Series([s.code for s in SITES], dtype=pl.String)
    frame = pl.DataFrame(
        {
            "count_id": id_column("CC", b["count_no"], 8),
            "location_id": labels(LOCATION_IDS, loc),
            "bin_id": m.il_bin.gather(b["il"]),
            "item_id": m.item_ids.gather(m.il_item[b["il"]]),
            "counted_at": _ts(eng, b["ts"], loc, "wms"),
            "system_qty": b["system"],
            "counted_qty": b["counted"],
            "counter_id": pl.select(
                pl.format("{}-CNT{}", codes.gather(loc), pl.Series(b["counter"] + 1).cast(pl.String).str.zfill(2))
            ).to_series(),
        }
    )  # fmt: skip
    sink.write_monthly("cycle_counts", frame, _utc_month(eng, b["ts"]))


def _wave_ids(b: Buffer) -> pl.Series:
    codes = pl.Series([s.code for s in SITES], dtype=pl.String)
    frame = pl.DataFrame(
        {
            "site": codes.gather(b["loc"]),
            "d": date_column(b["day"]),
            "j": b["wave_j"] if "wave_j" in b else b["j"],
        }
    )
    return frame.select(
        pl.when(pl.col("j") >= 0)
        .then(
            pl.format(
                "W-{}-{}-{}",
                pl.col("site"),
                pl.col("d").dt.strftime("%Y%m%d"),
                (pl.col("j") + 1).cast(pl.String).str.zfill(2),
            )
        )
        .otherwise(None)
    ).to_series()


def waves(eng: Engine, sink: Sink, b: Buffer) -> None:
    loc = b["loc"]
    frame = pl.DataFrame(
        {
            "wave_id": _wave_ids(b),
            "location_id": labels(LOCATION_IDS, loc),
            "planned_release_ts": _ts(eng, b["planned_rel"], loc, "wms"),
            "released_ts": _ts(eng, b["rel"], loc, "wms"),
            "planned_complete_ts": _ts(eng, b["planned_comp"], loc, "wms"),
            "completed_ts": _ts(eng, b["comp"], loc, "wms"),
            "lines_planned": b["planned_lines"],
            "lines_picked": b["picked_lines"],
            "status": labels(WAVE_STATUS, b["status"]),
            "updated_at": _ts(eng, b["upd"], loc, "wms"),
        }
    )
    sink.write_monthly("waves", frame, eng.clock.month(b["day"]))


def shipments(eng: Engine, sink: Sink, b: Buffer) -> None:
    loc = b["loc"]
    frame = pl.DataFrame(
        {
            "shipment_id": id_column("SH", b["ship_no"]),
            "order_id": id_column("SO", b["order_no"]),
            "line_no": b["line_no"],
            "item_id": eng.m.item_ids.gather(b["item"]),
            "location_id": labels(LOCATION_IDS, loc),
            "wave_id": _wave_ids(b),
            "shipped_qty": b["qty_uom"],
            "uom": labels(UOM, b["uom"]),
            "shipped_ts": _ts(eng, b["ts"], loc, "wms"),
        }
    )
    sink.write_monthly("shipments", frame, eng.clock.month(b["day"]))


def receipts(eng: Engine, sink: Sink, b: Buffer) -> None:
    loc = b["loc"]
    frame = pl.DataFrame(
        {
            "receipt_id": id_column("RC", b["rcpt_no"]),
            "line_no": b["line_no"],
            "po_id": id_column("PO", b["po_no"]),
            "po_line_no": b["po_line"],
            "item_id": eng.m.item_ids.gather(b["item"]),
            "location_id": labels(LOCATION_IDS, loc),
            "received_qty": b["received"],
            "damaged_qty": b["damaged"],
            "arrived_ts": _ts(eng, b["arrived"], loc, "wms"),
            "putaway_ts": _ts(eng, b["putaway"], loc, "wms"),
        }
    )
    sink.write_monthly("receipts", frame, _utc_month(eng, b["arrived"]))


def inventory_adjustments(eng: Engine, sink: Sink, b: Buffer) -> None:
    m = eng.m
    loc = m.il_loc[b["il"]]
    user = b["user"]
    codes = pl.Series([s.code for s in SITES], dtype=pl.String)
    odd = labels(ODD_USERS, np.where(user >= ODD, user - ODD, 0))
    role = np.where(user >= COUNTER, "CNT", "INV")
    num = pl.Series(np.where(user >= COUNTER, user - COUNTER, user) % 100 + 1).cast(pl.String)
    normal = pl.select(
        pl.format("{}-{}{}", codes.gather(loc), pl.Series(role), num.str.zfill(2))
    ).to_series()
    frame = pl.DataFrame(
        {
            "adjustment_id": id_column("ADJ", b["adj_no"], 8),
            "location_id": labels(LOCATION_IDS, loc),
            "item_id": m.item_ids.gather(m.il_item[b["il"]]),
            "adjusted_at": _ts(eng, b["ts"], loc, "wms"),
            "qty_delta": b["delta"],
            "reason_code": labels(ADJUST_REASONS, b["reason"]),
            "user_id": pl.select(
                pl.when(pl.Series(user >= ODD)).then(odd).otherwise(normal)
            ).to_series(),
        }
    )
    sink.write_monthly("inventory_adjustments", frame, _utc_month(eng, b["ts"]))


def stock_transfers(eng: Engine, sink: Sink, b: Buffer) -> None:
    src = b["src"]
    frame = pl.DataFrame(
        {
            "transfer_id": id_column("TR", b["transfer_no"], 6),
            "line_no": np.ones(src.size, dtype=np.int64),
            "from_location_id": labels(LOCATION_IDS, src),
            "to_location_id": labels(LOCATION_IDS, b["dst"]),
            "item_id": eng.m.item_ids.gather(b["item"]),
            "qty": b["qty"],
            "uom": labels(UOM, np.zeros(src.size, dtype=np.int64)),
            "reference": pl.Series([None] * src.size, dtype=pl.String),
            "created_at": _ts(eng, b["created"], src, "wms"),
            "shipped_ts": _ts(eng, b["shipped"], src, "wms"),
            "received_ts": _ts(eng, b["received"], src, "wms"),
            "status": labels(TRANSFER_STATUSES, b["status"]),
            "updated_at": _ts(eng, b["upd"], src, "wms"),
        }
    )
    sink.write_monthly("stock_transfers", frame, _utc_month(eng, b["created"]))


def freight_shipments(eng: Engine, sink: Sink, b: Buffer) -> None:
    frame = pl.DataFrame(
        {
            "tms_shipment_id": id_column("TMS", b["tms_no"]),
            "shipment_id": id_column("SH", b["ship_no"]),
            "carrier_id": labels([c.carrier_id for c in CARRIERS], b["carrier"]),
            "mode": labels(MODES, b["mode"]),
            "service_level": labels(SERVICE_LEVELS, b["service"]),
            "planned_pickup_ts": _ts(eng, b["planned_pickup"], None, "tms"),
            "actual_pickup_ts": _ts(eng, b["pickup"], None, "tms"),
            "promised_delivery_ts": _ts(eng, b["promised"], None, "tms"),
            "actual_delivery_ts": _ts(eng, b["deliv"], None, "tms"),
            "planned_freight_cost": money_column(b["planned_c"]),
            "actual_freight_cost": money_column(b["actual_c"]),
            "expedited": b["expedited"].astype(bool),
            "status": labels(FREIGHT_STATUS, b["status"]),
            "updated_at": _ts(eng, b["upd"], None, "tms"),
        }
    )
    sink.write_monthly("freight_shipments", frame, eng.clock.month(b["day"]))


def tracking_events(eng: Engine, sink: Sink, b: Buffer) -> None:
    frame = pl.DataFrame(
        {
            "tms_shipment_id": id_column("TMS", b["tms_no"]),
            "event_ts": _ts(eng, b["ts"], None, "tms"),
            "event_type": labels(EVENT_TYPES, b["type"]),
            "reason": labels(DELAY_REASONS, b["reason"]),
            "location": labels(PLACES, b["place"]),
        }
    )
    sink.write_monthly("tracking_events", frame, _utc_month(eng, b["ts"]))


WRITERS: dict[str, Callable[[Engine, Sink, Buffer], None]] = {
    "sales_order_lines": sales_order_lines,
    "sales_order_lines_updates": sales_order_lines_updates,
    "purchase_order_lines": purchase_order_lines,
    "ap_invoice_lines": ap_invoice_lines,
    "returns": returns,
    "close_tasks": close_tasks,
    "cycle_counts": cycle_counts,
    "waves": waves,
    "shipments": shipments,
    "receipts": receipts,
    "inventory_adjustments": inventory_adjustments,
    "stock_transfers": stock_transfers,
    "freight_shipments": freight_shipments,
    "tracking_events": tracking_events,
}


def flush(eng: Engine, sink: Sink) -> None:
    """Write everything buffered so far."""
    for name, writer in WRITERS.items():
        b = eng.buf.take(name)
        if b is not None:
            writer(eng, sink, b)
    inventory_snapshots(eng, sink)
