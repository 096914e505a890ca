"""Each exception type is detected from landed data, and its near misses are not.

The rows are those of tests/support/exception_cases.py (DELIVERY), read at NOW =
2026-03-12 10:00 UTC (as_of 2026-03-12). Each class draws the rows that
matter for its rule.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from control_tower.exceptions.store import ExceptionItem
from tests.support.exception_cases import detect_at, fresh_home, items, writer


@pytest.fixture(scope="module")
def detected(landed: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """{type: {key: item}} after one detection at NOW on a copy of the landed folder."""
    home = fresh_home(landed, tmp_path_factory.mktemp("exc-detected") / "home")
    report = detect_at(home)
    assert not report.failed
    out: dict[str, dict[str, ExceptionItem]] = {}
    for item in items(home).values():
        out.setdefault(item.type, {})[item.key] = item
    return out


class TestStockoutRisk:
    """Latest snapshot per location (2026-03-11); demand = ordered units in the 28 days to as_of.

    snapshot    loc item on_hand alloc  available  daily demand       lead  verdict
    2026-03-10  L1  I2   0       0      (older)                             ignored
    2026-03-11  L1  I1   5       5      0          40/28 (O1,O4)      7     risk, high
    2026-03-11  L1  I2   1000    0      1000       12/28              14    ok
    2026-03-11  L1  I3   20      0      20         280/28 = 10        3     cover 2 < 3: risk
    2026-03-11  L2  I3   5000    0      5000       600/28             3     ok
    """

    def test_keys(self, detected: dict) -> None:
        assert set(detected["stockout_risk"]) == {"L1|I1", "L1|I3"}

    def test_nothing_available_is_high_and_values_the_lead_time_demand(
        self, detected: dict
    ) -> None:
        item = detected["stockout_risk"]["L1|I1"]
        assert item.severity == "high"
        assert item.value_at_risk == pytest.approx(40.0)  # 40/28 a day x 7 days x 4.00
        assert (item.location_id, item.entity_id, item.item_id) == ("L1", "E1", "I1")

    def test_short_cover_is_medium(self, detected: dict) -> None:
        item = detected["stockout_risk"]["L1|I3"]
        assert item.severity == "medium"
        assert item.detail["days_of_cover"] == 2.0
        assert item.value_at_risk == pytest.approx(1.0)  # (10 x 3 - 20) x 0.10


class TestBackorderedLine:
    """Open lines past their first promise (as_of 2026-03-12) and not fully shipped.

    line  status       promised    ordered  shipped  customer tier  verdict
    O1|1  open         2026-03-10  10 EA    4        1              backordered, high
    O1|2  backordered  2026-03-11  2 CS=12  0        1              backordered, high
    O2|1  released     2026-03-12  500      0        2              not yet due
    O2|2  open         2026-03-05  100      100      2              shipped in full
    O3|1  cancelled    2026-03-04  5        0        1              cancelled
    """

    def test_keys(self, detected: dict) -> None:
        assert set(detected["backordered_line"]) == {"O1|1", "O1|2"}

    def test_value_is_the_missing_quantity_at_the_base_unit_price(self, detected: dict) -> None:
        assert detected["backordered_line"]["O1|1"].value_at_risk == pytest.approx(24.0)  # 6 x 4
        # 12 EA missing at 15.00 a case of 6
        assert detected["backordered_line"]["O1|2"].value_at_risk == pytest.approx(30.0)
        assert detected["backordered_line"]["O1|2"].severity == "high"


class TestShortShipment:
    """Lines closed as shipped with less than ordered, last shipped in the last 14 days.

    line  status   ordered  shipped  last shipped  verdict
    O4|1  shipped  20       15       2026-03-09    short by 5
    O4|2  shipped  10       10       2026-03-09    full
    O5|1  closed   10       5        2026-02-01    short, but outside the look-back
    """

    def test_keys(self, detected: dict) -> None:
        assert set(detected["short_shipment"]) == {"O4|1"}
        item = detected["short_shipment"]["O4|1"]
        assert item.detail["short_qty"] == 5.0
        assert item.value_at_risk == pytest.approx(20.0)
        assert item.owner_role == "warehouse_supervisor"


class TestLateWave:
    """Waves not released within 15 minutes of plan, or not complete by plan (NOW 10:00 UTC).

    wave  planned release  released  planned complete  completed  verdict
    W1    09:30            -         13:00             -          not released, 30 min: medium
    W2    09:50            -         14:00             -          10 min: inside the window
    W3    05:00            05:05     07:00             -          not completed, 3 h: high
    W4    (yesterday)      late      09:00             12:00      completed: history, not a queue item
    """

    def test_keys(self, detected: dict) -> None:
        waves = detected["late_wave"]
        assert set(waves) == {"W1", "W3"}
        assert (waves["W1"].detail["reason"], waves["W1"].severity) == ("not_released", "medium")
        assert (waves["W3"].detail["reason"], waves["W3"].severity) == ("not_completed", "high")
        assert waves["W3"].detail["minutes_late"] == 180


class TestCycleCountVariance:
    """Latest count per bin and item in the last 30 days, against ABC tolerance (A 1%, B 3%).

    count  bin  item class  system  counted  counted at  verdict
    CC1    A1   I1   A      100     98       03-10       2 > 1: variance
    CC2    A2   I1   A      100     99       03-10       exactly 1%: accurate (inclusive)
    CC3    B1   I2   B      0       1        03-10       empty bin not empty: variance
    CC4    A3   I1   A      100     90       03-05       superseded by CC5
    CC5    A3   I1   A      100     100      03-09       accurate
    CC6    A4   I1   A      100     50       01-05       outside the look-back
    """

    def test_keys(self, detected: dict) -> None:
        assert set(detected["cycle_count_variance"]) == {"L1|A1|I1", "L1|B1|I2"}
        assert detected["cycle_count_variance"]["L1|A1|I1"].value_at_risk == pytest.approx(5.0)


class TestReceiptNotPutAway:
    """Receipt lines not put away 48 hours after arrival (NOW 2026-03-12 10:00).

    line   arrived           put away    verdict
    RC1|1  2026-03-10 08:00  -           50 h: breach
    RC2|1  2026-03-10 12:00  -           46 h: not yet
    RC3|1  2026-03-01 08:00  2026-03-05  put away
    """

    def test_keys(self, detected: dict) -> None:
        assert set(detected["receipt_not_put_away"]) == {"RC1|1"}
        item = detected["receipt_not_put_away"]["RC1|1"]
        assert item.detail["hours_waiting"] == 50.0
        assert item.value_at_risk == pytest.approx(30.0)  # 12 x 2.50


class TestCarrierDelay:
    """Undelivered freight past its promise, or with a delay or exception event.

    freight  status      promised          delivered  events   verdict
    F1       in_transit  2026-03-11 17:00  -          -        17 h late
    F2       in_transit  2026-03-14 17:00  -          delay    reported delayed
    F3       delivered   2026-03-06 17:00  03-07      -        delivered (late: KPI, not queue)
    F4       in_transit  2026-03-13 17:00  -          pickup   on its way
    F5       cancelled   2026-03-04 17:00  -          -        cancelled
    """

    def test_keys(self, detected: dict) -> None:
        delays = detected["carrier_delay"]
        assert set(delays) == {"F1", "F2"}
        assert delays["F1"].value_at_risk == pytest.approx(100.0)  # S4 carries 25 x 4.00
        assert delays["F2"].detail["carrier_reason"] == "weather"


class TestUnmatchedInvoiceLine:
    """PO invoice lines in a mismatch status now; service lines without a PO do not count.

    line    po    status          verdict
    INV1|1  P1|1  price_variance  unmatched
    INV1|2  P1|2  matched         fine
    INV1|3  -     no_receipt      no PO: not counted
    """

    def test_keys(self, detected: dict) -> None:
        item = detected["unmatched_invoice_line"]["INV1|1"]
        assert set(detected["unmatched_invoice_line"]) == {"INV1|1"}
        assert (item.location_id, item.owner_role) == ("L1", "finance")
        assert item.value_at_risk == pytest.approx(33.0)  # 12 x 2.75


class TestOverdueCloseTask:
    """Close tasks not done by their due date (as_of 2026-03-12).

    task  due         status  verdict
    T1    2026-03-03  done    done
    T2    2026-03-04  open    8 days overdue: high
    T3    2026-03-12  open    due today: not yet
    T4    2026-03-10  open    2 days overdue: medium
    """

    def test_keys(self, detected: dict) -> None:
        tasks = detected["overdue_close_task"]
        assert set(tasks) == {"E1|2026-02|T2", "E2|2026-02|T4"}
        assert tasks["E1|2026-02|T2"].severity == "high"
        assert tasks["E2|2026-02|T4"].severity == "medium"


class TestQuarantinedRows:
    """The latest delivery of inventory_adjustments had 1 of 2 rows quarantined ('lots')."""

    def test_keys(self, detected: dict) -> None:
        assert set(detected["quarantined_rows"]) == {"inventory_adjustments"}
        item = detected["quarantined_rows"]["inventory_adjustments"]
        assert item.detail["rows_quarantined"] == 1
        assert item.owner_role == "admin"


class TestStaleSource:
    """A table is stale once its last good load is older than its freshness SLA."""

    def test_nothing_is_stale_right_after_the_load(self, detected: dict) -> None:
        assert "stale_source" not in detected

    def test_every_loaded_table_is_stale_a_year_later(self, home: Path) -> None:
        with writer(home) as con:
            loaded_at = con.execute(
                "SELECT max(last_loaded_at) FROM ops.table_freshness"
            ).fetchone()
        assert loaded_at is not None
        detect_at(home, now=loaded_at[0] + timedelta(days=365))
        stale = items(home, "stale_source")
        assert "sales_order_lines" in stale
        assert "returns" not in stale  # never delivered: not stale, just absent
        assert stale["sales_order_lines"].detail["sla_hours"] > 0
