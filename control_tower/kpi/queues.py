"""The exception queues a KPI may drill into: the one list of their names.

The exception rules fill the queues themselves (owners, SLAs) in `exc.queue_items`;
a KPI definition names the queue holding the rows behind its misses, and the
catalog refuses a name that is not declared here.
"""

from __future__ import annotations

EXCEPTION_QUEUES: dict[str, str] = {
    "unfilled_line": "order lines whose first shipment did not carry the full quantity",
    "backordered_line": "open lines past their first promise and not fully shipped",
    "late_delivery": "lines not delivered in full by their promised or requested date",
    "imperfect_order": "orders late, short or returned damaged / wrong item",
    "late_shipment": "order lines slow from order to last shipment",
    "inventory_variance": "cycle counts outside their ABC tolerance",
    "stockout": "item-locations with nothing available",
    "wave_release_miss": "waves released outside their window, or never",
    "wave_completion_miss": "waves (or WMS shipments at non-wave sites) finished after their cutoff",
    "dock_to_stock_breach": "receipt lines not put away within 48 hours",
    "carrier_late": "freight shipments delivered after their promised time",
    "freight_cost_overrun": "freight shipments costing more than planned",
    "close_task_overdue": "close tasks not done by their due date",
    "invoice_match_failure": "PO invoice lines that did not match on the first pass",
    "sla_breach": "exception queue items past their SLA",
    "slow_moving_stock": "item-locations turning slowly",
}
