"""The exception queue view: what the address bar and the controls ask for, and back.

A view (`QueueView`) holds the page's filter values as the browser sent them
(type, KPI, status, severity, entity, location, "assigned to me", my queues
or all); `question` turns it into the user's row scope narrowed by entity and
location, and the `QueueFilter` the queue is read with, with notes on what
was ignored (an unknown type, a KPI without a queue). Unusable values are
dropped, never trusted: the scope only ever narrows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from control_tower.accounts import Scope
from control_tower.exceptions import query as q
from control_tower.exceptions.registry import type_names
from control_tower.web import filters as flt
from control_tower.web.auth import WebUser
from control_tower.web.runtime import web_context


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def default_queues(role: str, type_name: str | None, kpi: str | None) -> str:
    """A role starts on the queues it owns; a drill-down to a type or KPI shows them all."""
    if type_name or kpi or not q.owned_types(role):
        return "all"
    return "mine"


@dataclass(frozen=True)
class QueueView:
    """The values of the view's controls, in the order of the page's controls."""

    type_name: Any = None
    kpi: Any = None
    status: Any = None
    severity: Any = None
    entity: Any = None
    location: Any = None
    mine: Any = None
    queues: Any = None

    @classmethod
    def from_query(cls, query: Mapping[str, Any], role: str) -> QueueView:
        """The view a URL asks for, with defaults for what it leaves out or gets wrong."""
        filters = flt.Filters.from_query(**query)
        type_name, kpi = _text(query.get("type")), _text(query.get("kpi"))
        queues = query.get("queues")
        if queues not in ("mine", "all") or (queues == "mine" and not q.owned_types(role)):
            queues = default_queues(role, type_name, kpi)
        status = query.get("status")
        severity = query.get("severity")
        return cls(
            type_name=type_name,
            kpi=kpi,
            status=status if status in q.STATUS_CHOICES else "unresolved",
            severity=severity if severity in q.SEVERITY_RANK else None,
            entity=filters.entity,
            location=filters.location,
            mine=query.get("mine") in ("1", "true", "yes"),
            queues=queues,
        )

    @property
    def known_type(self) -> str | None:
        """The type asked for, if it is one."""
        return self.type_name if self.type_name in type_names() else None

    def query_string(self) -> str:
        """The view as the address bar's query string (defaults left out)."""
        view = flt.Filters.from_query(entity=self.entity, location=self.location)
        status, severity, queues = self.status, self.severity, self.queues
        return flt.link(
            "",
            view,
            type=_text(self.type_name),
            kpi=_text(self.kpi),
            status=status if status in q.STATUS_CHOICES and status != "unresolved" else None,
            severity=severity if severity in q.SEVERITY_RANK else None,
            mine="1" if self.mine else None,
            queues=queues if queues in ("mine", "all") else None,
        )


def question(user: WebUser, view: QueueView) -> tuple[Scope | None, q.QueueFilter, list[str]]:
    """The scope (None: nothing left) and filter of a view, and notes on what was ignored."""
    notes: list[str] = []
    type_name, kpi = _text(view.type_name), _text(view.kpi)
    types: tuple[str, ...] = ()
    types_given = False
    if type_name:
        if type_name in type_names():
            types, types_given = (type_name,), True
        else:
            notes.append(f"There is no exception type “{type_name}”; showing every type.")
    if kpi:
        linked = web_context().catalog().exception_types(kpi)
        if not linked:
            notes.append(f"No exception queue is linked to the KPI “{kpi}”.")
        types = tuple(t for t in linked if t in types) if types_given else linked
        types_given = True
    status = view.status if view.status in q.STATUS_CHOICES else "unresolved"
    severity = view.severity if view.severity in q.SEVERITY_RANK else None
    owner_roles = (user.role,) if view.queues == "mine" else ()
    scope = flt.Filters.from_query(entity=view.entity, location=view.location).scoped(user.scope)
    filt = q.QueueFilter(
        types=types,
        types_given=types_given,
        status=status,
        severity=severity,
        assignee=user.name if view.mine else None,
        owner_roles=owner_roles,
    )
    return scope, filt, notes
