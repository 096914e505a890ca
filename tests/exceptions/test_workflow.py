"""Workflow actions: each changes the item, writes one audit row, and refuses what it must.

Items come from one detection at NOW over the DELIVERY of exception_cases; the tests act
on the overdue close task E1|2026-02|T2 (open, version 1, unassigned).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event

from control_tower.exceptions.store import ExceptionStore
from control_tower.exceptions.workflow import (
    ConflictError,
    TransitionError,
    UnknownItemError,
    WorkflowError,
    act,
)
from tests.support.exception_cases import detect_at, items, later, store

TASK = "E1|2026-02|T2"


@pytest.fixture
def s(home: Path) -> ExceptionStore:
    detect_at(home)
    with store(home) as st:
        yield st


@pytest.fixture
def task_id(home: Path, s: ExceptionStore) -> int:
    return items(home, "overdue_close_task")[TASK].id


def last_audit(s: ExceptionStore, item_id: int) -> tuple:
    a = s.audit(item_id)[-1]
    return a.actor, a.action, a.changes, a.version


class TestActions:
    """One action, one audit row (who, action, field changes, version after)."""

    def test_assign(self, s: ExceptionStore, task_id: int) -> None:
        item = act(s, task_id, "assign", user="ann", assignee="bob", now=later(1))
        assert (item.assignee, item.last_action_at, item.version) == ("bob", later(1), 2)
        assert last_audit(s, task_id) == ("ann", "assign", {"assignee": [None, "bob"]}, 2)

    def test_acknowledge(self, s: ExceptionStore, task_id: int) -> None:
        item = act(s, task_id, "acknowledge", user="bob", now=later(1))
        assert item.status == "acknowledged"
        assert last_audit(s, task_id) == (
            "bob",
            "acknowledge",
            {"status": ["open", "acknowledged"]},
            2,
        )

    def test_comment(self, s: ExceptionStore, task_id: int) -> None:
        act(s, task_id, "comment", user="cy", note="waiting for the bank", now=later(1))
        assert [(c.author, c.body) for c in s.comments(task_id)] == [("cy", "waiting for the bank")]
        assert last_audit(s, task_id) == ("cy", "comment", {}, 2)
        assert s.audit(task_id)[-1].note == "waiting for the bank"

    def test_snooze(self, s: ExceptionStore, task_id: int) -> None:
        item = act(s, task_id, "snooze", user="bob", until=later(72), now=later(1))
        assert (item.status, item.snoozed_until) == ("snoozed", later(72))
        actor, action, changes, _ = last_audit(s, task_id)
        assert (actor, action, changes["status"]) == ("bob", "snooze", ["open", "snoozed"])

    def test_resolve(self, s: ExceptionStore, task_id: int) -> None:
        item = act(s, task_id, "resolve", user="bob", reason="fixed", now=later(1))
        assert (item.status, item.resolution_code, item.resolved_at) == (
            "resolved",
            "fixed",
            later(1),
        )
        _, action, changes, _ = last_audit(s, task_id)
        assert action == "resolve"
        assert changes["resolution_code"] == [None, "fixed"]

    def test_reopen(self, s: ExceptionStore, task_id: int) -> None:
        act(s, task_id, "resolve", user="bob", reason="fixed", now=later(1))
        item = act(s, task_id, "reopen", user="ann", now=later(2))
        assert (item.status, item.resolution_code, item.version) == ("open", None, 3)
        assert [a.action for a in s.audit(task_id)] == ["created", "resolve", "reopen"]


class TestRefusals:
    """Clear errors for unknown ids and actions, and transitions that make no sense."""

    def test_unknown_item(self, s: ExceptionStore) -> None:
        with pytest.raises(UnknownItemError, match="no exception with id 999"):
            act(s, 999, "acknowledge", user="ann")

    def test_unknown_action(self, s: ExceptionStore, task_id: int) -> None:
        with pytest.raises(WorkflowError, match="unknown action 'escalate'"):
            act(s, task_id, "escalate", user="ann")

    def test_resolve_needs_a_known_reason(self, s: ExceptionStore, task_id: int) -> None:
        with pytest.raises(TransitionError, match="reason code"):
            act(s, task_id, "resolve", user="ann", reason="cleared")

    def test_cannot_acknowledge_twice(self, s: ExceptionStore, task_id: int) -> None:
        act(s, task_id, "acknowledge", user="ann")
        with pytest.raises(TransitionError, match="it is acknowledged"):
            act(s, task_id, "acknowledge", user="bob")

    def test_cannot_reopen_an_open_item(self, s: ExceptionStore, task_id: int) -> None:
        with pytest.raises(TransitionError, match="not resolved"):
            act(s, task_id, "reopen", user="ann")

    def test_cannot_snooze_into_the_past(self, s: ExceptionStore, task_id: int) -> None:
        with pytest.raises(TransitionError, match="not later than now"):
            act(s, task_id, "snooze", user="ann", until=later(1), now=later(2))

    def test_refused_action_writes_nothing(self, s: ExceptionStore, task_id: int) -> None:
        with pytest.raises(TransitionError):
            act(s, task_id, "comment", user="ann", note="  ")
        assert [a.action for a in s.audit(task_id)] == ["created"]
        assert s.get(task_id).version == 1


class TestConflict:
    """Two people act on the same item: the second gets a ConflictError, nothing is lost."""

    def test_stale_version_names_who_changed_what(self, s: ExceptionStore, task_id: int) -> None:
        # ann and bob both open the item at version 1; ann assigns it first
        act(s, task_id, "assign", user="ann", assignee="ann", expected_version=1)
        with pytest.raises(ConflictError) as err:
            act(s, task_id, "resolve", user="bob", reason="fixed", expected_version=1)
        message = str(err.value)
        assert "your version 1, now 2" in message
        assert "ann did assign" in message
        assert "assignee: None -> 'ann'" in message
        assert [c.actor for c in err.value.changes] == ["ann"]
        item = s.get(task_id)
        assert (item.status, item.assignee, item.version) == ("open", "ann", 2)
        # bob reloads and retries: both changes stand
        act(s, task_id, "resolve", user="bob", reason="fixed", expected_version=2)
        assert [a.actor for a in s.audit(task_id)] == ["system", "ann", "bob"]

    def test_write_racing_between_read_and_commit(
        self, home: Path, s: ExceptionStore, task_id: int
    ) -> None:
        """bob's session reads version 1; ann commits version 2 before bob's UPDATE runs."""
        other = store(home)
        fired = []

        def ann_first(session: object, *_args: object) -> None:
            if not fired:
                fired.append(True)
                act(other, task_id, "acknowledge", user="ann")

        event.listen(s._sessions, "before_flush", ann_first)
        try:
            with pytest.raises(ConflictError, match="ann did acknowledge"):
                act(s, task_id, "assign", user="bob", assignee="bob")
        finally:
            event.remove(s._sessions, "before_flush", ann_first)
            other.close()
        item = s.get(task_id)
        assert (item.status, item.assignee, item.version) == ("acknowledged", None, 2)
        assert [a.actor for a in s.audit(task_id)] == ["system", "ann"]
