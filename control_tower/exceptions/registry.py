"""The one registry of exception type names: every detected type, and the KPI alert type.

Detection rules are declared one module per domain in
`control_tower.exceptions.rules`; this module assembles them in display
order and refuses a name declared twice. KPI definitions name the types
behind their number (`exception_types:` in kpi_definitions/*.yml) and the
KPI catalog checks those names here, so this module (like the rules) uses
the standard library only: the KPI layer imports it and nothing else of
`control_tower.exceptions`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from control_tower.exceptions.rules import (
    data,
    finance,
    freight,
    inventory,
    money,
    orders,
    promises,
    requests,
    warehouse,
)
from control_tower.exceptions.rules.base import (
    OPTIONAL_RULE_COLUMNS,
    OWNER_ROLES,
    RULE_COLUMNS,
    SEVERITIES,
    ExceptionType,
)

__all__ = [
    "ALERT_LABEL",
    "ALERT_TYPE",
    "EXCEPTION_TYPES",
    "OPTIONAL_RULE_COLUMNS",
    "OWNER_ROLES",
    "RULE_COLUMNS",
    "SEVERITIES",
    "ExceptionType",
    "exception_type",
    "type_label",
    "type_names",
    "unknown_kpi_types",
]

# Queue items raised by KPI alert rules (control_tower.exceptions.alerts), not by a detection rule.
# Every KPI's alerts are behind that KPI, so a definition never lists this type.
ALERT_TYPE = "kpi_alert"
ALERT_LABEL = "KPI alert"


def _registry(types: Iterable[ExceptionType]) -> Mapping[str, ExceptionType]:
    out: dict[str, ExceptionType] = {}
    for t in types:
        if t.name in out or t.name == ALERT_TYPE:
            raise ValueError(f"exception type {t.name!r} is declared twice")
        out[t.name] = t
    return MappingProxyType(out)


# Every detected exception type, in display order.
EXCEPTION_TYPES: Mapping[str, ExceptionType] = _registry(
    (
        inventory.STOCKOUT_RISK,
        orders.BACKORDERED_LINE,
        orders.SHORT_SHIPMENT,
        promises.ORDER_AT_RISK,
        promises.MISSED_PROMISE,
        warehouse.LATE_WAVE,
        inventory.CYCLE_COUNT_VARIANCE,
        warehouse.RECEIPT_NOT_PUT_AWAY,
        freight.CARRIER_DELAY,
        freight.FREIGHT_COST_OVERRUN,
        finance.UNMATCHED_INVOICE_LINE,
        finance.OVERDUE_CLOSE_TASK,
        money.MISSING_FX_RATE,
        data.QUARANTINED_ROWS,
        data.STALE_SOURCE,
        data.FAILING_STEP,
        inventory.ADJUSTMENT_ANOMALY,
        requests.ACTION_NOT_CONFIRMED,
    )
)


def type_names() -> tuple[str, ...]:
    """Every type a queue item can have, in display order (the detected ones, then KPI alerts)."""
    return (*EXCEPTION_TYPES, ALERT_TYPE)


def type_label(name: str) -> str:
    """The display name of a type (the name itself when it is not registered)."""
    if name == ALERT_TYPE:
        return ALERT_LABEL
    found = EXCEPTION_TYPES.get(name)
    return found.label if found else name


def exception_type(name: str) -> ExceptionType:
    """The declared type called `name`; raises KeyError naming the known types."""
    try:
        return EXCEPTION_TYPES[name]
    except KeyError:
        raise KeyError(
            f"unknown exception type {name!r}; known types: {', '.join(EXCEPTION_TYPES)}"
        ) from None


def unknown_kpi_types(names: Iterable[str]) -> list[tuple[str, str]]:
    """The names a KPI definition may not list as its exception types, each with the reason."""
    out = []
    for name in names:
        if name == ALERT_TYPE:
            out.append(
                (
                    name,
                    "is the KPI alert type: a KPI's own alerts are always behind it, list detected types",
                )
            )
        elif name not in EXCEPTION_TYPES:
            out.append((name, "is not a registered exception type"))
    return out
