"""An exception item as a flat record for people: grids, exports, the API and the CLI.

`item_row` adds what a person reads beside the stored fields: the type's
display name, age and SLA state in words, and a one-line summary of the
facts behind the item (from its detail).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from control_tower.exceptions.aging import item_aging
from control_tower.exceptions.registry import type_label, type_names
from control_tower.exceptions.store import ITEM_CORE_COLUMNS, ExceptionItem
from control_tower.settings import utc_now

TYPE_LABELS: dict[str, str] = {name: type_label(name) for name in type_names()}


# Per type, the detail fields that sum an item up in one line, in order.
_SUMMARY_FIELDS: dict[str, tuple[str, ...]] = {
    "stockout_risk": ("probability", "available_qty", "days_of_cover", "lead_time_days"),
    "backordered_line": ("order_id", "line_no", "customer_id", "days_past_promise", "shipped_qty"),
    "short_shipment": ("order_id", "line_no", "customer_id", "short_qty", "ordered_qty"),
    "late_wave": ("wave_id", "reason", "minutes_late", "lines_picked", "lines_planned"),
    "cycle_count_variance": ("bin_id", "abc_class", "system_qty", "counted_qty", "tolerance"),
    "receipt_not_put_away": ("receipt_id", "line_no", "po_id", "hours_waiting", "received_qty"),
    "carrier_delay": ("tms_shipment_id", "carrier_id", "status", "hours_late", "carrier_reason"),
    "unmatched_invoice_line": ("invoice_id", "line_no", "match_status", "po_id", "supplier_id"),
    "overdue_close_task": ("task_name", "period", "owner", "days_overdue"),
    "quarantined_rows": ("table_name", "file_name", "rows_quarantined", "rows_read", "status"),
    "stale_source": ("table_name", "hours_since_load", "sla_hours"),
    "failing_step": ("step", "consecutive_failures", "next_try_at", "last_error"),
}


def _short(value: Any) -> str:
    if isinstance(value, float):
        if value != value:
            return "?"
        if value.is_integer() or abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.4g}"
    return str(value)


def summary(item: ExceptionItem) -> str:
    """One line of the facts behind an item, from its detail (`field value · ...`)."""
    detail = item.detail if isinstance(item.detail, dict) else {}
    names = _SUMMARY_FIELDS.get(item.type) or tuple(detail)[:5]
    parts = [
        f"{name.replace('_', ' ')} {_short(detail[name])}"
        for name in names
        if detail.get(name) not in (None, "")
    ]
    return " · ".join(parts)


def utcnow() -> datetime:
    """Now, as naive UTC (the store's convention)."""
    return utc_now()


def sla_text(due: datetime, breached: bool, now: datetime, resolved: bool) -> str:
    """The SLA state in words: breached, due in X h, or met."""
    if resolved:
        return "breached" if breached else "met"
    if breached:
        return "breached"
    hours = (due - now).total_seconds() / 3600
    return f"due in {hours:.0f} h" if hours >= 1 else f"due in {max(hours * 60, 0):.0f} min"


def item_row(item: ExceptionItem, now: datetime) -> dict[str, Any]:
    """An item as a flat record for grids, exports and the API (times as ISO text, UTC)."""
    age = item_aging(item, now)

    def iso(value: datetime | None) -> str | None:
        return value.isoformat(sep=" ", timespec="seconds") if value else None

    return {
        "id": item.id,
        "version": item.version,
        "type": item.type,
        "type_label": type_label(item.type),
        "key": item.key,
        "status": item.status,
        "severity": item.severity,
        "owner_role": item.owner_role,
        "assignee": item.assignee,
        "location_id": item.location_id,
        "entity_id": item.entity_id,
        "item_id": item.item_id,
        "created_at": iso(item.created_at),
        "event_at": iso(item.started_at),
        "last_seen_at": iso(item.last_seen_at),
        "last_action_at": iso(item.last_action_at),
        "times_seen": item.times_seen,
        "active": item.active,
        "snoozed_until": iso(item.snoozed_until),
        "resolved_at": iso(item.resolved_at),
        "resolution_code": item.resolution_code,
        "age_days": age.age_days,
        "age_bucket": age.bucket,
        "days_since_last_action": age.days_since_last_action,
        "sla_hours": item.sla_hours,
        "sla_due_at": iso(age.sla_due_at),
        "sla_breached": age.sla_breached,
        "sla": sla_text(age.sla_due_at, age.sla_breached, now, item.resolved_at is not None),
        "value_at_risk": item.value_at_risk,
        "summary": summary(item),
    }


# Columns of an export, in order (a subset of `item_row`).
EXPORT_COLUMNS: tuple[str, ...] = (
    "id",
    "type",
    "type_label",
    *ITEM_CORE_COLUMNS,
    "item_id",
    "created_at",
    "event_at",
    "last_seen_at",
    "age_days",
    "sla_due_at",
    "sla_breached",
    "sla",
    "value_at_risk",
    "resolution_code",
    "summary",
)
