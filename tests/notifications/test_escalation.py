"""Escalation of items past their SLA: when, how far, to whom, and when it stops."""

from __future__ import annotations

from datetime import timedelta

import pytest

from control_tower.accounts import Scope
from control_tower.config_files import ConfigError
from control_tower.exceptions.actions import act_many
from control_tower.exceptions.store import ExceptionStore
from control_tower.notifications import list_notifications, mark_read, notify_user, unread_count
from control_tower.notifications.service import run_escalation
from control_tower.notifications.store import Escalation, NotificationError
from control_tower.settings import Settings
from tests.support.notification_cases import T0, add_item, write

POLICY = """\
policies:
  stockout_risk:
    after_breach_hours: {after}
    to_role: planner
    raise_severity: true
    repeat_hours: 4
    max_level: 2
"""


def _at(hours: float):
    return T0 + timedelta(hours=hours)


def _escalation(store: ExceptionStore, item_id: int) -> Escalation | None:
    with store.session() as s:
        return s.get(Escalation, item_id)


def _severity(store: ExceptionStore, item_id: int) -> str:
    item = store.get(item_id)
    assert item is not None
    return item.severity


def test_an_item_escalates_at_its_breach_and_again_each_repeat_up_to_the_top(
    settings: Settings, store: ExceptionStore
) -> None:
    write(settings.escalation_path, POLICY.format(after=0))
    item = add_item(store)
    assert run_escalation(settings, now=_at(23.5)).escalated == 0  # SLA of 24 h not yet out
    assert _escalation(store, item.id) is None

    report = run_escalation(settings, now=_at(24.5))
    assert report.escalated == 1
    assert _severity(store, item.id) == "high"
    audit = [a for a in store.audit(item.id) if a.action == "escalate"]
    assert [(a.actor, a.changes, a.note) for a in audit] == [
        (
            "system",
            {"escalation_level": [0, 1], "severity": ["medium", "high"]},
            "escalation policy 'stockout_risk', level 1",
        )
    ]
    # Planners whose scope allows DC-NJ are told; pia (DC-TX only) and the disabled one not.
    assert unread_count(store, "pat") == 1
    assert unread_count(store, "pia") == unread_count(store, "old") == 0
    (notice,) = list_notifications(store, "pat")
    assert notice.kind == "escalation"
    assert notice.link == f"/exceptions/{item.id}"
    assert notice.exception_id == item.id
    assert "[ESCALATED L1]" in notice.subject

    assert run_escalation(settings, now=_at(27)).escalated == 0  # repeat_hours not yet over
    report = run_escalation(settings, now=_at(28.6))
    assert (report.escalated, report.repeated) == (1, 0)
    record = _escalation(store, item.id)
    assert record is not None
    assert (record.level, record.count) == (2, 2)
    assert _severity(store, item.id) == "high"  # capped at the top severity
    changes = [a.changes for a in store.audit(item.id) if a.action == "escalate"]
    assert changes[-1] == {"escalation_level": [1, 2]}

    report = run_escalation(settings, now=_at(32.7))  # max_level 2: a reminder, no new level
    assert (report.escalated, report.repeated) == (0, 1)
    record = _escalation(store, item.id)
    assert record is not None
    assert (record.level, record.count) == (2, 3)
    assert unread_count(store, "pat") == 3


def test_after_breach_hours_delays_the_first_level(
    settings: Settings, store: ExceptionStore
) -> None:
    write(settings.escalation_path, POLICY.format(after=2))
    item = add_item(store, event_at=T0 + timedelta(hours=1))  # the SLA counts from the event
    assert run_escalation(settings, now=_at(26.5)).escalated == 0
    assert run_escalation(settings, now=_at(27.5)).escalated == 1
    assert _escalation(store, item.id) is not None


def test_snoozed_and_resolved_items_stop_escalating(
    settings: Settings, store: ExceptionStore
) -> None:
    write(settings.escalation_path, POLICY.format(after=0))
    snoozed = add_item(store)
    resolved = add_item(store, key="SKU2|DC-NJ")
    other_type = add_item(store, key="SO1|1", type="backordered_line")
    run_escalation(settings, now=_at(25))
    assert {r for r in (snoozed.id, resolved.id) if _escalation(store, r)} == {
        snoozed.id,
        resolved.id,
    }
    assert _escalation(store, other_type.id) is None  # no policy for its type, no "*"
    everyone = Scope()
    for item_id, action, extra in (
        (snoozed.id, "snooze", {"until": "2099-01-01"}),
        (resolved.id, "resolve", {"reason": "fixed"}),
    ):
        current = store.get(item_id)
        assert current is not None
        act_many(store, everyone, [(item_id, current.version)], action, user="pat",
                 role="planner", **extra)  # fmt: skip
    report = run_escalation(settings, now=_at(40))
    assert report.escalated == report.repeated == 0
    assert _escalation(store, resolved.id) is None  # dropped: a reopened item starts again
    assert unread_count(store, "pat") == 2


def test_a_named_user_is_told_only_within_their_scope(
    settings: Settings, store: ExceptionStore
) -> None:
    write(
        settings.escalation_path,
        'policies:\n  "*":\n    to_user: sam\n    to_role: executive\n',
    )
    nj = add_item(store)
    tx = add_item(store, key="SKU9|DC-TX", location_id="DC-TX")
    report = run_escalation(settings, now=_at(25))
    assert report.escalated == 2
    assert [n.exception_id for n in list_notifications(store, "sam")] == [nj.id]
    assert sorted(n.exception_id for n in list_notifications(store, "eve")) == [nj.id, tx.id]
    assert _severity(store, nj.id) == "medium"  # raise_severity is off


def test_an_unknown_named_user_is_refused_with_file_and_line(
    settings: Settings, store: ExceptionStore
) -> None:
    write(settings.escalation_path, "policies:\n  stockout_risk:\n    to_user: nobody\n")
    add_item(store)
    with pytest.raises(ConfigError) as caught:
        run_escalation(settings, now=_at(25))
    assert (caught.value.path, caught.value.line) == (settings.escalation_path, 2)
    assert "'nobody'" in caught.value.reason
    assert "not an active user" in caught.value.reason


def test_assigning_an_item_tells_the_assignee_in_the_app(store: ExceptionStore) -> None:
    item = add_item(store)
    result = act_many(store, Scope(), [(item.id, item.version)], "assign", user="pat",
                      role="planner", assignee="sam")  # fmt: skip
    assert result.done == [item.id]
    (notice,) = list_notifications(store, "sam")
    assert notice.kind == "assigned"
    assert "by pat" in notice.subject
    assert notice.link == f"/exceptions/{item.id}"
    current = store.get(item.id)
    assert current is not None
    act_many(store, Scope(), [(item.id, current.version)], "assign", user="pat",
             role="planner", assignee="pat")  # fmt: skip
    assert unread_count(store, "pat") == 0  # taking an item yourself tells nobody


def test_the_in_app_list_marks_read_only_the_users_own_notices(store: ExceptionStore) -> None:
    first, second = (
        notify_user(store, "pat", "request", f"approve request {n}", link="/exceptions")[0]
        for n in (1, 2)
    )
    (theirs,) = notify_user(store, "eve", "kpi_alert", "fill rate down")
    assert [n.id for n in list_notifications(store, "pat")] == [second.id, first.id]
    assert mark_read(store, "pat", [first.id, theirs.id]) == 1
    assert unread_count(store, "pat") == 1
    assert unread_count(store, "eve") == 1
    assert [n.id for n in list_notifications(store, "pat", unread_only=True)] == [second.id]
    assert mark_read(store, "pat") == 1
    assert unread_count(store, "pat") == 0
    for bad in (
        {"kind": "gossip", "subject": "x"},
        {"kind": "assigned", "subject": " "},
        {"kind": "assigned", "subject": "x", "link": "https://evil.example/"},
    ):
        with pytest.raises(NotificationError):
            notify_user(store, "pat", **bad)
