"""Queue lifecycle across detection runs: dedupe, auto-resolve, reopen with history, snooze.

Each test starts from the kit's landed DELIVERY with an empty queue, runs
detection at chosen instants, and changes the landed rows in between with
SQL (standing in for a later delivery), so only the reconciliation is tested.

    RC1|1 (receipt_not_put_away)      arrived 2026-03-10 08:00, not put away
    E1|2026-02|T2 (overdue_close_task) due 2026-03-04, open: true at every later instant
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from control_tower.exceptions import reconcile as reconcile_module
from control_tower.exceptions.detect import DetectionError, refresh_exceptions
from control_tower.exceptions.registry import EXCEPTION_TYPES
from control_tower.exceptions.workflow import act
from tests.support.exception_cases import NOW, detect_at, items, later, settings, store, writer

RECEIPT = "RC1|1"
TASK = "E1|2026-02|T2"


def put_away(home: Path, when: str | None) -> None:
    """Set (or clear, with None) the put-away time of receipt RC1 line 1."""
    with writer(home) as con:
        con.execute(
            "UPDATE receipts SET putaway_ts = CAST(? AS TIMESTAMP) "
            "WHERE receipt_id = 'RC1' AND line_no = 1",
            [when],
        )


def audit_actions(home: Path, item_id: int) -> list[tuple[str, str]]:
    with store(home) as s:
        return [(a.actor, a.action) for a in s.audit(item_id)]


class TestDedupe:
    """A condition true in two runs stays one item and counts its sightings."""

    def test_second_run_adds_no_item(self, home: Path) -> None:
        first = detect_at(home, NOW)
        second = detect_at(home, later(1))
        assert first.actions["create"] == 23
        # the only new item is wave W2, which turned late at 10:05 (planned 09:50 + 15 min)
        assert (second.actions["create"], second.actions["seen"]) == (1, 23)
        assert "W2" in items(home, "late_wave")
        receipt = items(home, "receipt_not_put_away")[RECEIPT]
        assert receipt.times_seen == 2
        assert (receipt.created_at, receipt.last_seen_at) == (NOW, later(1))
        assert receipt.version == 1  # sightings do not make a person's open form stale
        assert audit_actions(home, receipt.id) == [("system", "created")]

    def test_sighting_refreshes_the_facts(self, home: Path) -> None:
        detect_at(home, NOW)
        detect_at(home, later(10))
        # 50 h waiting at NOW, 60 h ten hours later: past 2 x 48 h? no, still medium
        receipt = items(home, "receipt_not_put_away")[RECEIPT]
        assert receipt.detail["hours_waiting"] == 60.0


class TestAutoResolve:
    """A condition that clears resolves its item with reason 'cleared'."""

    def test_put_away_receipt_is_cleared(self, home: Path) -> None:
        detect_at(home, NOW)
        put_away(home, "2026-03-12 10:30:00")
        report = detect_at(home, later(1))
        assert report.actions["clear"] == 1
        receipt = items(home, "receipt_not_put_away")[RECEIPT]
        assert (receipt.status, receipt.resolution_code) == ("resolved", "cleared")
        assert receipt.resolved_at == later(1)
        assert receipt.active is False
        assert audit_actions(home, receipt.id) == [("system", "created"), ("system", "cleared")]

    def test_a_person_who_acts_while_the_run_clears_wins(
        self, home: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Between the run's reading of the queue and its clearing, a person acknowledges the
        receipt: the run leaves it as the person made it and counts a conflict (no audit row of
        its own)."""
        detect_at(home, NOW)
        put_away(home, "2026-03-12 10:30:00")
        receipt = items(home, "receipt_not_put_away")[RECEIPT]
        classify = reconcile_module._classify

        def person_acts_meanwhile(*args, **kwargs):
            groups = classify(*args, **kwargs)
            with store(home) as s:
                act(s, receipt.id, "acknowledge", user="ann", now=later(0.5))
            return groups

        monkeypatch.setattr(reconcile_module, "_classify", person_acts_meanwhile)
        report = detect_at(home, later(1))
        assert (report.actions["clear"], report.conflicts) == (0, 1)
        receipt = items(home, "receipt_not_put_away")[RECEIPT]
        assert (receipt.status, receipt.version, receipt.resolution_code) == (
            "acknowledged",
            2,
            None,
        )
        assert audit_actions(home, receipt.id) == [("system", "created"), ("ann", "acknowledge")]


class TestReopen:
    """A condition that returns after clearing reopens the same item, history intact."""

    def test_returning_condition_reopens_with_comments_and_audit(self, home: Path) -> None:
        detect_at(home, NOW)
        first = items(home, "receipt_not_put_away")[RECEIPT]
        with store(home) as s:
            act(s, first.id, "comment", user="ann", note="forklift broken", now=later(0.5))
        put_away(home, "2026-03-12 10:30:00")
        detect_at(home, later(1))
        put_away(home, None)  # the WMS corrected the put-away: the goods are still on the dock
        report = detect_at(home, later(2))
        assert report.actions["reopen"] == 1
        again = items(home, "receipt_not_put_away")[RECEIPT]
        assert again.id == first.id
        assert (again.status, again.resolution_code, again.resolved_at) == ("open", None, None)
        assert again.times_seen == 2  # seen at NOW and at +2 h, not at +1 h
        assert audit_actions(home, again.id) == [
            ("system", "created"),
            ("ann", "comment"),
            ("system", "cleared"),
            ("system", "reopened"),
        ]
        with store(home) as s:
            assert [c.body for c in s.comments(again.id)] == ["forklift broken"]

    def test_resolved_by_a_person_while_true_stays_resolved(self, home: Path) -> None:
        detect_at(home, NOW)
        task = items(home, "overdue_close_task")[TASK]
        with store(home) as s:
            act(s, task.id, "resolve", user="bob", reason="accepted", now=later(1))
        detect_at(home, later(2))
        task = items(home, "overdue_close_task")[TASK]
        assert (task.status, task.resolution_code, task.times_seen) == ("resolved", "accepted", 2)


class TestSnooze:
    """A snoozed item that is still true re-opens when its snooze ends."""

    def test_snooze_holds_until_its_date_then_reopens(self, home: Path) -> None:
        detect_at(home, NOW)
        task = items(home, "overdue_close_task")[TASK]
        with store(home) as s:
            act(s, task.id, "snooze", user="bob", until=later(48), now=later(1))
        detect_at(home, later(24))
        assert items(home, "overdue_close_task")[TASK].status == "snoozed"
        report = detect_at(home, later(49))
        assert report.actions["unsnooze"] == 1
        task = items(home, "overdue_close_task")[TASK]
        assert (task.status, task.snoozed_until) == ("open", None)
        assert audit_actions(home, task.id)[-1] == ("system", "snooze_ended")

    def test_snoozed_item_that_clears_is_resolved(self, home: Path) -> None:
        detect_at(home, NOW)
        receipt = items(home, "receipt_not_put_away")[RECEIPT]
        with store(home) as s:
            act(s, receipt.id, "snooze", user="bob", until=later(48), now=later(1))
        put_away(home, "2026-03-12 12:00:00")
        detect_at(home, later(3))
        receipt = items(home, "receipt_not_put_away")[RECEIPT]
        assert (receipt.status, receipt.resolution_code) == ("resolved", "cleared")


class TestFailingRule:
    """A rule that fails leaves its type's items alone; the other types are reconciled."""

    def test_items_of_a_broken_rule_are_not_cleared(self, home: Path) -> None:
        detect_at(home, NOW)
        broken = dict(EXCEPTION_TYPES)
        broken["overdue_close_task"] = dataclasses.replace(
            EXCEPTION_TYPES["overdue_close_task"], rule="SELECT * FROM no_such_table"
        )
        put_away(home, "2026-03-12 10:30:00")
        with writer(home) as con, pytest.raises(DetectionError, match="overdue_close_task"):
            refresh_exceptions(
                con, settings(home).app_db_url, as_of=NOW.date(), now=later(1), types=broken
            )
        assert items(home, "overdue_close_task")[TASK].status == "open"
        assert items(home, "receipt_not_put_away")[RECEIPT].status == "resolved"
