"""A request's life: approved at once below every threshold, pending above one, decided by the
approver the rule names (four eyes, versions, a note to reject), cancelled; every step audited."""

from __future__ import annotations

import pytest

from control_tower.actions import service
from control_tower.actions.approvals import ApprovalRule
from control_tower.actions.store import ActionRequest
from control_tower.actions.types import RequestInputError, RequestNotAllowedError
from control_tower.exceptions.store import Comment
from tests.support.action_requests import Person, first_item
from tests.support.demo_data import DEMO_NOW

PAT = Person("pat", "planner")
LEAD = Person("lee", "planner", permissions=frozenset({"planner_lead"}))
FIN = Person("fin", "finance")
ADMIN = Person("ada", "admin")
RULES = [ApprovalRule("transfers", ("stock_transfer",), 10.0, "planner", "planner_lead")]
TRANSFER = {
    "from_location_id": "DC-NJ",
    "to_location_id": "DC-CHI",
    "item_id": "SKU100013",
    "ship_date": "2026-03-20",
}


def raise_transfer(store, cur, qty: float, rules=RULES, actor=PAT):
    item = first_item(store, "stockout_risk", location_id="DC-CHI")
    return service.raise_request(
        store,
        cur,
        rules,
        actor=actor,
        exception_id=item.id,
        type_name="stock_transfer",
        params={**TRANSFER, "quantity": qty},
        note="cover next week",
        now=DEMO_NOW,
    )


def unit_cost(cur) -> float:
    return float(
        cur.execute("SELECT unit_cost FROM main.items WHERE item_id = 'SKU100013'").fetchone()[0]
    )


def test_below_every_threshold_the_request_is_approved_at_once(store, cur):
    request = raise_transfer(store, cur, 1, rules=[])
    assert request.status == "approved"
    assert request.decided_by == "system"
    assert request.value == pytest.approx(unit_cost(cur))
    assert (request.entity_id, request.location_id, request.item_id) == (
        "US01",
        "DC-CHI",
        "SKU100013",
    )
    assert service.to_dispatch(request) == [request.id]
    view = service.get_request(store, request.id, actor=PAT)
    assert [(e.event, e.actor, e.note) for e in view.events] == [
        ("raised", "pat", "cover next week"),
        ("approved", "system", "no approval rule applies"),
    ]
    with store.session() as s:
        bodies = [c.body for c in s.query(Comment).filter_by(item_id=request.exception_id)]
    assert f"Stock transfer request #{request.id} raised by pat: cover next week" in bodies


def test_above_a_threshold_it_waits_for_the_approver_the_rule_names(store, cur):
    qty = 20
    request = raise_transfer(store, cur, qty)
    assert (request.status, request.approval_rule) == ("pending_approval", "transfers")
    assert service.to_dispatch(request) == []

    def awaiting(actor):
        return [r.id for r in service.list_requests(store, actor=actor, view="awaiting")[1]]

    assert request.id in awaiting(LEAD)
    assert request.id not in awaiting(Person("pam", "planner"))
    with pytest.raises(
        RequestNotAllowedError, match="needs approval by a planner with planner_lead"
    ):
        service.decide(
            store,
            request.id,
            "approve",
            actor=Person("pam", "planner"),
            expected_version=request.version,
        )
    with pytest.raises(
        RequestNotAllowedError, match="needs approval by a planner with planner_lead"
    ):
        service.decide(store, request.id, "approve", actor=FIN, expected_version=request.version)
    own = Person("pat", "planner", permissions=frozenset({"planner_lead"}))
    assert request.id not in awaiting(own)
    with pytest.raises(RequestNotAllowedError, match="raised by you: another person must decide"):
        service.decide(store, request.id, "approve", actor=own, expected_version=request.version)
    with pytest.raises(service.RequestConflictError, match="your version 0"):
        service.decide(store, request.id, "approve", actor=LEAD, expected_version=0)
    approved = service.decide(
        store, request.id, "approve", actor=LEAD, expected_version=request.version, note="ok"
    )
    assert (approved.status, approved.decided_by, approved.version) == (
        "approved",
        "lee",
        request.version + 1,
    )
    assert service.to_dispatch(approved) == [request.id]
    with pytest.raises(service.RequestConflictError, match="lee approved"):
        service.decide(
            store, request.id, "reject", actor=LEAD, expected_version=request.version, note="no"
        )
    events = [e.event for e in service.get_request(store, request.id, actor=PAT).events]
    assert events == ["raised", "approved"]


def test_a_rejection_needs_a_note(store, cur):
    request = raise_transfer(store, cur, 20)
    with pytest.raises(RequestInputError, match="a rejection needs a note"):
        service.decide(store, request.id, "reject", actor=LEAD, expected_version=request.version)
    rejected = service.decide(
        store, request.id, "reject", actor=LEAD, expected_version=request.version, note="use DC-RNO"
    )
    assert (rejected.status, rejected.decision_note) == ("rejected", "use DC-RNO")
    with pytest.raises(RequestInputError, match="only a pending request is decided"):
        service.decide(store, request.id, "approve", actor=LEAD, expected_version=rejected.version)


def test_only_the_requester_or_an_admin_cancels_before_it_is_sent(store, cur):
    request = raise_transfer(store, cur, 20)
    with pytest.raises(RequestNotAllowedError, match="only pat"):
        service.cancel(store, request.id, actor=LEAD, expected_version=request.version)
    cancelled = service.cancel(store, request.id, actor=PAT, expected_version=request.version)
    assert cancelled.status == "cancelled"
    with pytest.raises(RequestInputError, match="not yet sent"):
        service.cancel(store, request.id, actor=ADMIN, expected_version=cancelled.version)


def test_lists_by_view_and_exception_in_scope(store, cur):
    request = raise_transfer(store, cur, 1, rules=[])
    mine = service.list_requests(store, actor=PAT, view="mine")[1]
    assert request.id in [r.id for r in mine]
    assert all(r.requested_by == "pat" for r in mine)
    by_item = service.list_requests(store, actor=PAT, exception_id=request.exception_id)[1]
    assert request.id in [r.id for r in by_item]
    sam = Person("sam", "warehouse_supervisor", service.Scope.of(locations=["DC-NJ"]))
    assert service.list_requests(store, actor=sam)[0] == 0  # DC-CHI requests are not in scope
    with pytest.raises(service.UnknownRequestError):
        service.get_request(store, request.id, actor=sam)
    with pytest.raises(RequestInputError, match="view='later'"):
        service.list_requests(store, actor=PAT, view="later")


def test_a_change_between_read_and_write_is_a_conflict(store, cur, monkeypatch):
    request = raise_transfer(store, cur, 20)
    read = service._locked

    def racing(s, actor, request_id, expected_version):
        found = read(s, actor, request_id, expected_version)
        with store.session() as other:  # another person, in between
            other.get(ActionRequest, found.id).note = "changed meanwhile"
        return found

    monkeypatch.setattr(service, "_locked", racing)
    with pytest.raises(service.RequestConflictError, match=f"your version {request.version}"):
        service.decide(store, request.id, "approve", actor=LEAD, expected_version=request.version)
    assert service.get_request(store, request.id, actor=PAT).request.status == "pending_approval"
