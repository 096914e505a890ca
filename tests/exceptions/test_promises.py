"""The order promise queues on the hand-drawn delivery of tests/support/promise_cases.py.

order_at_risk: coverage in promise order, past-due supply on T+1, the ATP date and the
suggested action (transfer, expedite, re-promise, nothing), the risk threshold.
missed_promise: late against the first promise on the site's calendar, not delivered,
the look-back window, and the same answer as the order_promise_accuracy KPI.
freight_cost_overrun: actual cost over plan by more than the set share.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from control_tower.accounts import Scope
from control_tower.exceptions import query as q
from control_tower.exceptions.registry import EXCEPTION_TYPES
from control_tower.kpi.catalog import load_catalog
from control_tower.kpi.compiler import model_query
from control_tower.promising.answer import PromiseRequest, answer
from tests.support.exception_cases import items, writer
from tests.support.promise_cases import AS_OF, NOW, detected_kit


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The delivery landed, the late-order risks written, detection run at NOW."""
    return detected_kit(tmp_path_factory.mktemp("promises"))


@pytest.fixture(scope="module")
def at_risk(kit: Path) -> dict:
    return items(kit, "order_at_risk")


def _run(home: Path, name: str, **params: object) -> dict[str, dict]:
    """The rows of a rule run over all keys, with some parameters changed."""
    t = EXCEPTION_TYPES[name]
    t = dataclasses.replace(t, params={**t.params, **params})
    with writer(home) as con:
        con.execute("CREATE OR REPLACE TEMP MACRO exc_in_scope(key) AS true")
        rows = con.execute(t.rule, t.bindings(as_of=AS_OF, now=NOW)).fetchall()
    return {r[0]: {"detail": json.loads(r[4]), "severity": r[6]} for r in rows}


class TestOrderAtRisk:
    def test_only_lines_the_projection_cannot_cover_or_likely_late(self, at_risk: dict) -> None:
        # A2 (today, from stock), A3 (past-due supply on T+1), A4 (earlier order time) covered;
        # A1 past due belongs to backordered_line; A6 released; R2 below the risk threshold
        assert set(at_risk) == {"A5|1", "B1|1", "C1|1", "D1|1", "R1|1"}

    def test_promise_order_decides_who_is_short(self, at_risk: dict) -> None:
        detail = at_risk["A5|1"].detail
        assert (detail["covered"], detail["shortfall_qty"], detail["open_qty"]) == (False, 1, 2)
        assert detail["atp_date"] == "2026-03-20"  # Q1|2's 12 open units arrive
        assert detail["action"] == "expedite"
        assert (detail["po_id"], detail["po_line_no"]) == ("Q1", 2)
        assert at_risk["A5|1"].value_at_risk == pytest.approx(8.0)  # 2 x 4.00
        assert at_risk["A5|1"].severity == "medium"
        assert at_risk["A5|1"].owner_role == "planner"

    def test_transfer_from_a_site_of_the_same_entity(self, at_risk: dict) -> None:
        item = at_risk["B1|1"]
        assert (item.detail["action"], item.detail["transfer_from"]) == ("transfer", "L3")
        assert item.detail["action_text"] == "Transfer 12 from L3"  # not L2: entity E2
        assert item.detail["atp_date"] is None
        assert item.severity == "high"  # uncovered, tier-1 customer

    def test_re_promise_to_the_atp_date_when_no_single_po_covers_it(self, at_risk: dict) -> None:
        detail = at_risk["C1|1"].detail
        assert (detail["action"], detail["atp_date"]) == ("re_promise", "2026-03-18")
        assert detail["action_text"] == "Re-promise to 2026-03-18"

    def test_nothing_within_the_horizon(self, at_risk: dict) -> None:
        detail = at_risk["D1|1"].detail
        assert (detail["action"], detail["atp_date"], detail["shortfall_qty"]) == (
            "no_supply",
            None,
            5,
        )

    def test_a_covered_line_above_the_risk_threshold(self, at_risk: dict, kit: Path) -> None:
        detail = at_risk["R1|1"].detail
        assert (detail["covered"], detail["late_risk"], detail["action"]) == (True, 0.7, "monitor")
        assert "R2|1" in _run(kit, "order_at_risk", min_late_risk=0.3)
        assert "R1|1" not in _run(kit, "order_at_risk", min_late_risk=0.8)

    def test_risk_times_value_in_the_top_band_is_high(self, kit: Path) -> None:
        rows = _run(kit, "order_at_risk", high_risk_value=8.0)  # A5: 1 x 8.00
        assert rows["A5|1"]["severity"] == "high"
        assert rows["R1|1"]["severity"] is None  # 0.7 x 1.00

    def test_a_shorter_horizon_finds_no_atp_date(self, kit: Path) -> None:
        rows = _run(kit, "order_at_risk", horizon_days=5)
        assert rows["C1|1"]["detail"]["atp_date"] is None
        assert rows["C1|1"]["detail"]["action"] == "no_supply"


class TestMissedPromise:
    def test_keys_late_undelivered_and_in_window(self, kit: Path) -> None:
        missed = items(kit, "missed_promise")
        # M1 on time on Chicago's calendar; M5 outside the window; M6 not due yet; A1 still
        # open past its first promise (also a backordered line)
        assert set(missed) == {"A1|1", "M2|1", "M3|1", "M4|1", "M8|1"}
        assert {i.owner_role for i in missed.values()} == {"customer_service"}

    def test_facts(self, kit: Path) -> None:
        missed = items(kit, "missed_promise")
        late = missed["M2|1"]
        assert (late.detail["days_late"], late.detail["otif_missed"], late.severity) == (
            1,
            True,
            "high",
        )
        assert late.value_at_risk == pytest.approx(40.0)
        never = missed["M3|1"].detail
        assert (never["delivered_qty"], never["days_late"], never["otif_missed"]) == (0, 4, False)
        partial = missed["M4|1"].detail
        assert (partial["delivered_by_promise_qty"], partial["delivered_in_full_date"]) == (
            6,
            "2026-03-10",
        )
        assert partial["bad_return"] is True
        assert missed["M8|1"].detail["delivered_qty"] == 0  # its freight was cancelled

    def test_a_longer_window_reaches_older_misses(self, kit: Path) -> None:
        assert "M5|1" in _run(kit, "missed_promise", lookback_days=40)

    def test_the_same_lines_as_order_promise_accuracy(self, kit: Path) -> None:
        kpi = load_catalog().kpi("order_promise_accuracy")
        sql, params = model_query(kpi, as_of=AS_OF)
        with writer(kit) as con:
            kpi_misses = con.execute(
                f"SELECT order_id || '|' || line_no FROM ({sql}) "
                "WHERE is_promise_due = 1 AND is_on_time_to_promise = 0 "
                "AND first_promised_date >= DATE '2026-02-26'",  # the 14-day window
                params,
            ).fetchall()
            found = con.execute(
                "SELECT key FROM exc.detected WHERE type = 'missed_promise'"
            ).fetchall()
        assert {r[0] for r in kpi_misses} == {r[0] for r in found}


def test_freight_cost_overrun(kit: Path) -> None:
    over = items(kit, "freight_cost_overrun")
    assert set(over) == {"FM2"}  # FM1 5% over; FM4a expedited; FM8 cancelled
    assert over["FM2"].value_at_risk == pytest.approx(15.0)
    assert (over["FM2"].location_id, over["FM2"].entity_id) == ("L1", "E1")
    assert over["FM2"].severity == "medium"
    rows = _run(kit, "freight_cost_overrun", high_overrun=0.12)
    assert rows["FM2"]["severity"] == "high"  # 15% over, the high share 12%
    assert over["FM2"].owner_role == "finance"


def test_each_role_owns_its_queues() -> None:
    assert q.owned_types("customer_service") == ("missed_promise",)
    assert {"order_at_risk", "stockout_risk", "backordered_line"} <= set(q.owned_types("planner"))
    assert "freight_cost_overrun" in q.owned_types("finance")


def test_the_atp_date_of_each_line_at_risk_is_what_promising_answers(at_risk, kit) -> None:
    # one definition of the inputs: the rule's ATP date = the answer for the line's open
    # quantity with its own demand left out (L2's I1 only in an older snapshot: none; the
    # received PO Q4|1 brings nothing)
    requests = [
        PromiseRequest(
            i.item_id, i.location_id, i.detail["open_qty"],
            line=(i.detail["order_id"], i.detail["line_no"]),
        )
        for i in at_risk.values()
    ]  # fmt: skip
    with writer(kit) as con:
        answers = answer(con, requests, scope=Scope(), as_of=AS_OF, horizon_days=60)
    got = {a.request.line: a.date.isoformat() if a.date else None for a in answers}
    want = {
        (i.detail["order_id"], i.detail["line_no"]): i.detail["atp_date"] for i in at_risk.values()
    }
    assert got == want
    assert want[("D1", 1)] is None
    assert want[("C1", 1)] == "2026-03-18"
