"""A delta's detection leaves the queue exactly as a full refresh would, and touches nothing else.

Two copies of the landed kit, A and B, get the same deliveries of one day
(tests/support/exception_deltas.py: new and updated order lines, a new stock
snapshot, a table no rule reads, a line that turns short again) and the same
actions of people. A detects each run's changes only; B detects everything
every time. After every run their queues (rows, status, audit trail,
comments), their mirrors in the warehouse and what each remembers of the
detection are equal, but for the sightings a full refresh counts.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from control_tower.exceptions.detect import DetectionReport, refresh_exceptions
from control_tower.exceptions.registry import EXCEPTION_TYPES, ExceptionType
from control_tower.exceptions.workflow import act
from control_tower.landing.ingest import IngestReport
from control_tower.storage.changes import Changes
from pipelines.steps import POST_LOAD_STEPS, StepContext
from tests.support.clock import clock_at
from tests.support.exception_cases import NOW, detect_at, fresh_home, items, later, settings, writer
from tests.support.exception_cases import store as open_store
from tests.support.exception_deltas import (
    CHANGED_MIND_RETURN,
    DAY,
    land_delta,
    mirrored,
    queue,
    remembered,
)

UNTOUCHED = (("backordered_line", "O1|2"), ("cycle_count_variance", "L1|B1|I2"))
SNOOZED = ("overdue_close_task", "E2|2026-02|T4")  # untouched, its snooze ends at 13:30


def people_act(home: Path) -> None:
    """What people do with the queue after the first run (the same in both copies)."""
    found = items(home)
    with open_store(home) as s:
        act(s, found[UNTOUCHED[0]].id, "acknowledge", user="bob", now=later(0.5))
        act(s, found[UNTOUCHED[1]].id, "assign", user="cy", assignee="cy", now=later(0.5))
        act(s, found[UNTOUCHED[1]].id, "comment", user="cy", note="recount Fri", now=later(0.6))
        act(s, found[SNOOZED].id, "snooze", user="dee", until=later(3.5), now=later(0.5))


def detect_changes(home: Path, changes: Changes | None, hours: float) -> DetectionReport:
    with writer(home) as con:
        at = later(hours)
        return refresh_exceptions(
            con, settings(home).app_db_url, as_of=at.date(), now=at, changes=changes
        )


@pytest.fixture(scope="module")
def day(landed: Path, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The day in both copies: per run, A's report and the states of A and B after it."""
    root = tmp_path_factory.mktemp("exc-incremental")
    a, b = fresh_home(landed, root / "a"), fresh_home(landed, root / "b")
    for home in (a, b):
        detect_at(home, NOW)  # the first run of the day is full in both
        people_act(home)
    before = queue(a, all_columns=True)
    runs = []
    for hours, tables in DAY:
        report = detect_changes(a, land_delta(a, tables, hours), hours)
        land_delta(b, tables, hours)
        detect_changes(b, Changes.full_refresh("the reference"), hours)
        runs.append(
            {
                "report": report,
                "a": (queue(a), mirrored(a), remembered(a)),
                "b": (queue(b), mirrored(b), remembered(b)),
                "a_all": queue(a, all_columns=True),
            }
        )
    runs.insert(0, {"a_all": before})
    return runs


@pytest.mark.parametrize("run", range(1, len(DAY) + 1))
def test_each_delta_leaves_the_queue_a_full_refresh_leaves(day: list[dict], run: int) -> None:
    (queue_a, mirror_a, memory_a), (queue_b, mirror_b, memory_b) = day[run]["a"], day[run]["b"]
    assert queue_a == queue_b
    assert mirror_a == mirror_b
    assert memory_a == memory_b
    assert not day[run]["report"].failed


def test_the_deltas_open_clear_and_reopen_items(day: list[dict]) -> None:
    def status(run: int, key: tuple[str, str]) -> str | None:
        found = day[run]["a"][0].get(key)
        return found["status"] if found else None

    assert status(1, ("backordered_line", "O1|1")) == "resolved"  # shipped in full
    assert status(1, ("backordered_line", "O6|1")) == "open"  # a new past-due line
    assert status(1, ("short_shipment", "O4|1")) == "resolved"  # ordered down to what shipped
    assert status(1, ("short_shipment", "O7|1")) == "open"  # a new short shipment
    assert status(1, ("overdue_close_task", "E1|2026-02|T2")) == "resolved"
    assert status(1, ("unmatched_invoice_line", "INV1|1")) == "resolved"
    assert status(1, ("late_wave", "W2")) == "open"  # turned late at 10:05: the clock moved
    assert status(2, ("stockout_risk", "L1|I1")) == "resolved"  # covered on the new snapshot
    assert status(2, ("stockout_risk", "L1|I2")) == "open"  # at zero on the new snapshot
    assert status(2, ("cycle_count_variance", "L1|A1|I1")) == "resolved"  # recounted
    assert status(3, ("receipt_not_put_away", "RC2|1")) == "open"  # late since 12:00
    assert day[2]["a"][0][("short_shipment", "O7|1")]["severity"] == "high"  # C2 now tier 1
    assert status(4, ("short_shipment", "O4|1")) == "open"  # short again: reopened
    assert status(4, ("backordered_line", "O6|1")) == "resolved"  # cancelled
    assert status(1, ("missed_promise", "O6|1")) == "open"  # a new line past its first promise
    assert status(4, ("missed_promise", "O6|1")) == "open"  # cancelled: a person resolves it
    assert status(1, ("order_at_risk", "O8|1")) is None  # covered by the 03-11 snapshot
    assert status(2, ("order_at_risk", "O8|1")) == "open"  # I2 at zero on the new snapshot
    assert status(3, ("freight_cost_overrun", "F3")) == "open"  # invoiced 50% over plan
    missed = day[3]["a"][0][("missed_promise", "O4|2")]["detail"]
    assert (
        missed["bad_return"],
        day[2]["a"][0][("missed_promise", "O4|2")]["detail"]["bad_return"],
    ) == (True, False)


def test_a_delta_runs_only_the_rules_its_tables_concern(day: list[dict]) -> None:
    modes = day[1]["report"].modes
    assert {n for n, m in modes.items() if m == "keys"} == {
        "backordered_line",
        "short_shipment",
        "overdue_close_task",
        "unmatched_invoice_line",
        "late_wave",  # W2 came due at 10:05 (planned release 09:50 + 15 min)
        "missed_promise",
    }
    assert modes["cycle_count_variance"] == "skip"  # none of its tables got a batch
    assert modes["carrier_delay"] == "skip"  # nothing came due between 10:00 and 11:00
    assert modes["stockout_risk"] == "whole"  # sales_order_lines: recent demand
    assert modes["order_at_risk"] == "whole"  # every earlier promise takes stock first
    assert modes["adjustment_anomaly"] == "whole"  # its windows move with the clock
    # O1|1 (its shipment), O4|1, O6|1, O7|1 for the three line rules; T2; INV1|1; W2
    assert day[1]["report"].scoped_keys == 15
    returns = day[3]["report"]
    assert {n for n, m in returns.modes.items() if m != "skip"} == {
        "late_wave",  # W1's planned completion at 13:00
        "receipt_not_put_away",  # RC2 has waited 48 h at 12:00
        "stale_source",
        "adjustment_anomaly",
        "quarantined_rows",  # the batch log has the return's batch
        "missed_promise",  # the lines of O4 (its return) and O2|2 (F3 carries S2)
        "carrier_delay",  # F3 re-delivered (delivered: not a delay)
        "freight_cost_overrun",  # F3 over plan
    }


def test_untouched_items_keep_their_state_and_sightings(day: list[dict]) -> None:
    """A delta counts no sighting of an item it did not touch, and never changes its workflow."""
    first, last = day[0]["a_all"], day[-1]["a_all"]
    for key in UNTOUCHED:
        assert last[key] == first[key]
    assert last[UNTOUCHED[0]]["status"] == "acknowledged"
    assert (last[UNTOUCHED[1]]["assignee"], len(last[UNTOUCHED[1]]["comments"])) == ("cy", 1)
    assert day[3]["a_all"][SNOOZED] == first[SNOOZED]  # snoozed until 13:30


def test_an_ended_snooze_comes_back_on_a_delta(day: list[dict]) -> None:
    """As on a full refresh: its snooze ended at 13:30 and its task is still overdue."""
    item = day[4]["a_all"][SNOOZED]
    assert (item["status"], item["snoozed_until"]) == ("open", None)
    assert item["audit"][-1][2] == "snooze_ended"


def test_a_delta_reaching_no_condition_runs_only_its_readers_and_changes_nothing(
    home: Path,
) -> None:
    detect_at(home, NOW)
    before, mirror, memory = queue(home, all_columns=True), mirrored(home), remembered(home)
    nothing = detect_changes(home, Changes.of_batches([("returns", 10_000)]), 0)
    assert set(nothing.modes.values()) == {"skip"}  # a batch that landed no row
    assert (sum(nothing.detected.values()), sum(nothing.actions.values())) == (0, 0)
    assert nothing.mirrored == 0
    # Landed: its batch is in the batch log, which quarantined_rows reads; missed_promise runs
    # for the lines of O2, whose facts a return for a change of mind leaves as they were.
    report = detect_changes(home, land_delta(home, CHANGED_MIND_RETURN, 0), 0)
    assert {n for n, m in report.modes.items() if m != "skip"} == {
        "quarantined_rows",
        "missed_promise",
    }
    assert report.scoped_keys == 2  # O2|1, O2|2
    assert sum(report.actions.values()) == 0
    assert queue(home, all_columns=True) == before
    assert mirrored(home) == mirror
    assert remembered(home) == memory


def test_a_type_without_a_full_detection_today_is_detected_in_full(home: Path) -> None:
    detect_at(home, NOW)
    report = detect_changes(home, Changes.of_batches([("returns", 10_000)]), 24)  # next day
    assert set(report.modes.values()) == {"full"}


def test_a_rule_that_fails_on_a_delta_leaves_its_items_and_memory(home: Path) -> None:
    detect_at(home, NOW)
    memory = remembered(home)
    broken = {
        "short_shipment": ExceptionType(
            **{**vars(EXCEPTION_TYPES["short_shipment"]), "rule": "SELECT 1 AS nonsense"}
        )
    }
    with writer(home) as con, pytest.raises(RuntimeError, match="short_shipment"):
        refresh_exceptions(
            con,
            settings(home).app_db_url,
            as_of=NOW.date(),
            now=later(1),
            types=broken,
            changes=land_delta(home, {"sales_order_lines": DAY[0][1]["sales_order_lines"]}, 1),
        )
    assert remembered(home) == memory
    assert items(home, "short_shipment")["O4|1"].status == "open"


TABLE = re.compile(r"\b(?:FROM|JOIN)\s+([a-z_][a-z0-9_.]*)", re.IGNORECASE)
COMMENT = re.compile(r"--[^\n]*")
CTE = re.compile(r"\b([a-z_][a-z0-9_]*)\s+AS\s*\(", re.IGNORECASE)


@pytest.mark.parametrize("name", sorted(EXCEPTION_TYPES))
def test_a_rule_declares_every_table_it_reads(name: str) -> None:
    """What a rule reads decides when a delta runs it: a table it leaves out would go unseen."""
    t = EXCEPTION_TYPES[name]
    sql = COMMENT.sub("", t.rule)
    # main. is the landed tables' schema, the one unqualified names read
    named = {n.removeprefix("main.") for n in TABLE.findall(sql)} - set(CTE.findall(sql))
    assert named == set(t.reads)
    if t.keyed:
        assert "exc_in_scope(" in t.rule  # it restricts its own tables by key


def test_a_keyed_rule_maps_each_table_to_keys_and_names_what_comes_due() -> None:
    line = EXCEPTION_TYPES["backordered_line"]
    with pytest.raises(ValueError, match="maps each to its keys"):
        ExceptionType(**{**vars(line), "keys_from": {"shipments": line.keys_from["shipments"]}})
    with pytest.raises(ValueError, match="names the keys that come due"):
        ExceptionType(**{**vars(line), "clock": True})  # without its due keys
    stockout = EXCEPTION_TYPES["stockout_risk"]
    with pytest.raises(ValueError, match="only a keyed rule names the keys that come due"):
        ExceptionType(**{**vars(stockout), "clock": True, "due": "SELECT 'x' AS key"})


def test_the_pipeline_step_detects_the_run_changes(home: Path) -> None:
    detect_at(home, NOW)
    step = next(s for s in POST_LOAD_STEPS if s.name == "exceptions")
    changes = land_delta(home, DAY[0][1], 1)
    with writer(home) as con, clock_at(later(1)):
        ingest = IngestReport()
        ctx = StepContext(settings(home), con, "r", ingest, as_of=NOW.date(), changes=changes)
        summary = step.run(ctx)
    assert "rules run (6 for 15 keys" in summary, summary
