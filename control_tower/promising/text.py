"""A promise answer as plain text, for the terminal: the answer, alternatives, risk, and the
projection's days where something arrives or is promised out."""

from __future__ import annotations

from control_tower.promising.answer import PromiseAnswer

_SAYS = {
    "promisable": "Promisable on {date} (the whole quantity on the wanted day)",
    "partial": "Promisable on {date}; {partial} of it on {wanted}",
    "later": "Promisable on {date}; nothing of it on {wanted}",
    "not_within_horizon": "Not promisable within the horizon (to {end}); {partial} on {wanted}",
}


def _qty(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _risk(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def answer_text(a: PromiseAnswer) -> str:
    """The answer in a few lines (module docstring)."""
    r = a.request
    asked = f"{_qty(r.qty)} {r.uom}" + (f" = {_qty(a.qty)} EA" if r.uom != "EA" else "")
    lines = [
        f"{r.item_id} at {r.location_id} ({a.entity_id}): {asked}, wanted {a.wanted} "
        f"(as of {a.as_of}, horizon to {a.projection.end})",
        _SAYS[a.status].format(
            date=a.date,
            partial=_qty(a.partial_qty),
            wanted=a.wanted,
            end=a.projection.end,
        ),
    ]
    if a.date is not None or a.risk_note:
        lines.append(
            f"Risk of being late: {_risk(a.risk)}" + (f" ({a.risk_note})" if a.risk_note else "")
        )
    lines += list(a.notes)
    if a.alternatives:
        lines.append("Other sites of the entity, earlier:")
        lines += [f"  {x.location_id:<12} {x.date}  risk {_risk(x.risk)}" for x in a.alternatives]
    lines.append("Projection (days with supply or demand):")
    lines.append(f"  {'day':<10}  {'supply':>8}  {'demand':>8}  {'available':>10}  events")
    for d in a.projection.event_days():
        events = [f"+{e.po_id}/{e.line_no}" for e in d.supply]
        events += [f"-{e.order_id}/{e.line_no}" for e in d.demand]
        lines.append(
            f"  {d.day}  {_qty(d.supply_qty) if d.supply else '':>8}  "
            f"{_qty(d.demand_qty) if d.demand else '':>8}  {_qty(d.available):>10}  "
            + " ".join(events)
        )
    return "\n".join(lines)
