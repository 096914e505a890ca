"""KPI alert rules: states ok -> pending -> firing -> resolved, one queue item, notify once, re-raise.

Each test writes a few daily values into kpi.values of an in-memory
warehouse and moves `as_of` forward: a rule sees only periods before it.

    line_fill_rate by location_id, rule `fill < 0.95 for 2 periods`, re-notify every 24 h

    period      L1     L2
    2026-03-01  0.90   0.99
    2026-03-02  0.90   0.99
    2026-03-03  0.99   0.99
    2026-03-04  0.90   0.99
    2026-03-05  0.90   0.99
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import select

from control_tower.exceptions.alerts import (
    AlertRule,
    AlertRuleError,
    load_alert_rules,
    refresh_alerts,
    run_alerts,
)
from control_tower.exceptions.notify import Notification, OutboxPolicy, RetryPolicy
from control_tower.exceptions.store import AlertNotification, AlertState, ExceptionStore
from control_tower.exceptions.workflow import act
from control_tower.settings import load_settings
from control_tower.storage.schema import ensure_schema

T0 = datetime(2026, 3, 10, 8, 0)
SERIES = {"L1": [0.90, 0.90, 0.99, 0.90, 0.90], "L2": [0.99] * 5}
RULE = AlertRule(
    name="fill_by_site",
    kpi="line_fill_rate",
    dimension="location_id",
    scope="*",
    condition="threshold",
    op="<",
    limit=0.95,
    periods=2,
    owner_role="warehouse_supervisor",
    renotify_hours=24,
)


def day(n: int) -> date:
    """Period n of the series (1 = 2026-03-01)."""
    return date(2026, 3, n)


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    ensure_schema(con)
    for scope, values in SERIES.items():
        for n, value in enumerate(values, start=1):
            con.execute(
                "INSERT INTO kpi.values (kpi, version, as_of, grain, period, dimension, "
                "dimension_value, value, computed_at) VALUES ('line_fill_rate', 1, ?, 'day', ?, "
                "'location_id', ?, ?, ?)",
                [day(6), day(n), scope, value, T0],
            )
    return con


@pytest.fixture
def store(tmp_path: Path) -> ExceptionStore:
    with ExceptionStore.open(f"sqlite:///{tmp_path / 'app.sqlite'}") as s:
        yield s


def evaluate(con, store, as_of: date, now: datetime, rules=(RULE,)):
    return refresh_alerts(con, store, list(rules), as_of=as_of, now=now)


def state(store: ExceptionStore, scope: str = "L1") -> AlertState:
    with store.session() as s:
        return s.scalars(select(AlertState).where(AlertState.scope_value == scope)).one()


def notes(store: ExceptionStore) -> list[tuple[str, str]]:
    with store.session() as s:
        rows = s.scalars(select(AlertNotification).order_by(AlertNotification.id))
        return [(n.scope_value, n.kind) for n in rows]


class TestLifecycle:
    def test_one_bad_period_is_pending(self, con, store) -> None:
        evaluate(con, store, day(2), T0)  # sees 03-01 only
        assert state(store).state == "pending"
        assert state(store, "L2").state == "ok"
        assert notes(store) == []
        assert store.items(type="kpi_alert", status="all") == []

    def test_two_bad_periods_fire_one_item_and_notify_once(self, con, store) -> None:
        evaluate(con, store, day(2), T0)
        report = evaluate(con, store, day(3), T0 + timedelta(hours=1))
        assert report.fired == 1
        assert state(store).state == "firing"
        [item] = store.items(type="kpi_alert", status="all")
        assert (item.key, item.status, item.location_id) == ("fill_by_site|L1", "open", "L1")
        assert item.owner_role == "warehouse_supervisor"
        assert item.detail["value"] == pytest.approx(0.90)
        evaluate(con, store, day(3), T0 + timedelta(hours=2))  # persists: no second notice
        assert notes(store) == [("L1", "firing")]
        assert len(store.items(type="kpi_alert", status="all")) == 1

    def test_reraised_after_the_interval_while_it_persists(self, con, store) -> None:
        evaluate(con, store, day(3), T0)
        evaluate(con, store, day(3), T0 + timedelta(hours=23))
        report = evaluate(con, store, day(3), T0 + timedelta(hours=24))
        assert report.reraised == 1
        evaluate(con, store, day(3), T0 + timedelta(hours=30))
        assert notes(store) == [("L1", "firing"), ("L1", "reraised")]
        assert state(store).notifications == 2

    def test_a_channel_failing_every_try_leaves_the_notice_in_the_outbox(self, con, store) -> None:
        class Down:
            name = "webhook"

            def send(self, note: Notification) -> None:
                raise OSError("connection refused")

        policy = RetryPolicy(attempts=2, backoff_seconds=0, sleep=lambda _s: None)
        outbox = OutboxPolicy(first_delay=timedelta(minutes=7))
        report = refresh_alerts(
            con, store, [RULE], as_of=day(3), now=T0, channels=[Down()], policy=policy,
            outbox=outbox,
        )  # fmt: skip
        assert (report.fired, report.failed_deliveries) == (1, 1)
        with store.session() as s:
            pending = s.scalars(
                select(AlertNotification).where(AlertNotification.channel == "webhook")
            ).one()
            assert (pending.status, pending.next_attempt_at) == (
                "pending",
                T0 + timedelta(minutes=7),
            )

    def test_no_reraise_once_a_person_resolved_the_item(self, con, store) -> None:
        evaluate(con, store, day(3), T0)
        [item] = store.items(type="kpi_alert")
        act(store, item.id, "resolve", user="ann", reason="accepted", now=T0 + timedelta(hours=1))
        evaluate(con, store, day(3), T0 + timedelta(hours=48))
        assert notes(store) == [("L1", "firing")]

    def test_clears_itself_then_fires_again_on_the_same_item(self, con, store) -> None:
        evaluate(con, store, day(3), T0)
        [first] = store.items(type="kpi_alert")
        report = evaluate(con, store, day(4), T0 + timedelta(days=1))  # 03-03 is 0.99
        assert report.resolved == 1
        assert state(store).state == "resolved"
        item = store.get(first.id)
        assert (item.status, item.resolution_code) == ("resolved", "cleared")
        evaluate(con, store, day(5), T0 + timedelta(days=2))  # 03-04 bad again: 1 period
        assert state(store).state == "pending"
        evaluate(con, store, day(6), T0 + timedelta(days=3))
        assert state(store).state == "firing"
        again = store.get(first.id)
        assert again.status == "open"
        assert [a.action for a in store.audit(first.id)] == [
            "created",
            "cleared",
            "reopened",
        ]
        assert notes(store) == [("L1", "firing"), ("L1", "resolved"), ("L1", "firing")]


class TestConditions:
    def test_relative_change_against_the_previous_period(self, con, store) -> None:
        """L1 goes 0.90 -> 0.99 on 03-03 (+10%); a rise of more than 5% fires at once."""
        rise = AlertRule(
            name="fill_jump",
            kpi="line_fill_rate",
            dimension="location_id",
            scope="L1",
            condition="change",
            relative=True,
            op=">",
            limit=0.05,
        )
        evaluate(con, store, day(3), T0, rules=[rise])
        assert state(store).state == "ok"
        evaluate(con, store, day(4), T0, rules=[rise])
        assert state(store).state == "firing"

    def test_a_fixed_scope_watches_only_its_value(self, con, store) -> None:
        only_l2 = AlertRule(
            name="l2", kpi="line_fill_rate", dimension="location_id", scope="L2",
            condition="threshold", op="<", limit=0.95,
        )  # fmt: skip
        evaluate(con, store, day(3), T0, rules=[only_l2])
        with store.session() as s:
            assert [st.scope_value for st in s.scalars(select(AlertState))] == ["L2"]


class TestRuleFiles:
    def test_rules_load_from_yaml(self, tmp_path: Path) -> None:
        path = tmp_path / "alert_rules.yml"
        path.write_text(
            "rules:\n"
            "  - {name: fill, kpi: line_fill_rate, condition: threshold, op: '<', limit: 0.95,\n"
            "     dimension: location_id, scope: '*', periods: 2}\n"
        )
        [rule] = load_alert_rules(path)
        assert (rule.name, rule.scope, rule.periods) == ("fill", "*", 2)
        assert load_alert_rules(tmp_path / "none.yml") == []

    @pytest.mark.parametrize(
        ("rule", "message"),
        [
            ("{name: a, kpi: k, condition: threshold, op: '<', limit: 1, colour: red}", "unknown keys ['colour']"),
            ("{name: a, kpi: k, condition: threshold, op: '=<', limit: 1}", "op '=<' is not one of"),
            ("{name: a, kpi: k, condition: threshold, op: '<'}", "missing ['limit']"),
            ("{name: a, kpi: k, condition: trend, op: '<', limit: 1}", "condition 'trend'"),
            ("{name: a, kpi: k, condition: threshold, op: '<', limit: 1, scope: L1}", "needs a dimension"),
        ],
    )  # fmt: skip
    def test_mistakes_name_the_file_and_rule(self, tmp_path: Path, rule: str, message: str) -> None:
        path = tmp_path / "alert_rules.yml"
        path.write_text(f"rules:\n  - {rule}\n")
        with pytest.raises(AlertRuleError, match="rule 1") as err:
            load_alert_rules(path)
        assert message in str(err.value)
        assert str(path) in str(err.value)

    def test_a_rule_on_a_kpi_without_values_fails_the_step(self, con, tmp_path: Path) -> None:
        settings = load_settings(tmp_path)
        settings.alert_rules_path.write_text(
            "rules:\n  - {name: typo, kpi: line_fil_rate, condition: threshold, op: '<', limit: 1}\n"
        )
        with pytest.raises(AlertRuleError, match="no values for KPI"):
            run_alerts(con, settings, as_of=day(3), now=T0)
