"""Stockout triage queries and rules on hand-built data (no demo, no web).

One entity E1 with two sites, A (at risk) and B (plenty), and E2 with site C:

    site  item  available  demand/day (28 d)  lead time
    A     I1    100        10                 20       -> needs 10 x 20 - 100 = 100
    B     I1    900        5                  20       -> keeps 2 x 20 x 5 = 200, excess 700
    C     I1    5000       0                  20       -> other entity: never a donor
    A     I2    30         3                  10
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import duckdb
import pytest

from control_tower.accounts import Scope
from control_tower.exceptions import actions
from control_tower.exceptions.store import ExceptionItem, ExceptionStore
from control_tower.planning import drill, model, projection, supply, triage
from control_tower.planning.supply import PoLine, SiteStock

AS_OF = date(2026, 11, 20)


def po(expected: date | None, qty: float, po_id: str = "P1") -> PoLine:
    return PoLine("A", "I1", po_id, 1, "S1", AS_OF - timedelta(days=10), expected, qty, qty)


def site(location: str, entity: str, available: float, demand: float) -> SiteStock:
    return SiteStock(location, entity, "I1", AS_OF, available, available, demand, 20)


class TestProjection:
    def test_stockout_day_without_supply(self):
        # 100 - 10 t <= 0 first at t = 10
        assert projection.stockout_date(AS_OF, 100, 10, []) == AS_OF + timedelta(days=10)

    def test_a_receipt_before_the_stockout_pushes_it_out(self):
        # 100 + 50 (day 5) - 10 t <= 0 first at t = 15
        lines = [po(AS_OF + timedelta(days=5), 50)]
        assert projection.stockout_date(AS_OF, 100, 10, lines) == AS_OF + timedelta(days=15)

    def test_a_receipt_after_the_stockout_does_not_prevent_it(self):
        lines = [po(AS_OF + timedelta(days=12), 500)]
        assert projection.stockout_date(AS_OF, 100, 10, lines) == AS_OF + timedelta(days=10)

    def test_an_overdue_line_counts_on_day_one(self):
        # 10 + 40 (day 1) - 10 t <= 0 first at t = 5
        lines = [po(AS_OF - timedelta(days=3), 40)]
        assert projection.stockout_date(AS_OF, 10, 10, lines) == AS_OF + timedelta(days=5)
        assert projection.project(AS_OF, 10, 10, lines, 2)[1].receipts == 40

    def test_zero_available_is_a_stockout_today_and_no_demand_never(self):
        assert projection.stockout_date(AS_OF, 0, 3, []) == AS_OF
        assert projection.stockout_date(AS_OF, 5, 0, []) is None

    def test_the_daily_projection_agrees_with_the_stockout_date(self):
        rng = random.Random(7)
        for _ in range(300):
            available = rng.choice([0, 1, 7, 33.3, 120, 400])
            demand = rng.choice([0, 0.3, 1 / 3, 2.5, 7, 13.1])
            lines = [
                po(AS_OF + timedelta(days=rng.randint(-5, 80)), rng.choice([5, 40, 300]), f"P{k}")
                for k in range(rng.randint(0, 3))
            ]
            days = projection.project(AS_OF, available, demand, lines, 120)
            first = next((d.day for d in days if d.available <= 1e-9), None)
            expected = projection.stockout_date(AS_OF, available, demand, lines, within_days=120)
            assert first == expected, (available, demand, lines)


class TestSuggestedAction:
    def _suggest(self, lines, sites, available=100.0, demand=10.0):
        return projection.suggest_action(
            as_of=AS_OF,
            location_id="A",
            entity_id="E1",
            available=available,
            daily_demand=demand,
            lead_time_days=20,
            lines=lines,
            sites=sites,
        )

    def test_transfer_from_a_site_of_the_same_entity_with_excess(self):
        sites = [site("A", "E1", 100, 10), site("B", "E1", 900, 5), site("C", "E2", 5000, 0)]
        s = self._suggest([po(AS_OF + timedelta(days=30), 300)], sites)
        assert (s.kind, s.source_location, s.qty) == ("transfer", "B", 100)  # need 10*20-100
        assert s.text == "Transfer 100 from B"

    def test_transfer_is_capped_by_the_donors_excess(self):
        sites = [site("B", "E1", 260, 5)]  # keeps 2 * 20 * 5 = 200: excess 60
        assert self._suggest([], sites).qty == 60

    def test_expedite_a_po_due_after_the_stockout(self):
        # No donor (C is another entity); stockout day 10; the PO is due day 14.
        sites = [site("C", "E2", 5000, 0)]
        s = self._suggest([po(AS_OF + timedelta(days=14), 300, "P9")], sites)
        assert s.kind == "expedite"
        assert (
            s.text
            == f"Expedite PO P9 (due {AS_OF + timedelta(days=14):%Y-%m-%d}, 4d late for need)"
        )

    def test_raise_a_po_when_nothing_is_on_order(self):
        s = self._suggest([], [])
        assert (s.kind, s.qty) == ("raise_po", 300)  # 2 * 20 * 10 - 100
        assert s.text == "Raise a PO for 300 (lead time 20 d)"

    def test_monitor_when_supply_arrives_in_time(self):
        s = self._suggest([po(AS_OF + timedelta(days=5), 1000)], [])
        assert s.kind == "monitor"


@pytest.fixture
def con():
    """The module docstring's data, plus a `stockout_risk` mirror and optional scores."""
    c = duckdb.connect()
    c.execute("""
        CREATE TABLE locations AS SELECT * FROM (VALUES
            ('A', 'Site A', 'E1'), ('B', 'Site B', 'E1'), ('C', 'Site C', 'E2'))
            t(location_id, name, entity_id);
        CREATE TABLE items AS SELECT * FROM (VALUES
            ('I1', 'Widget', 'hw', 'A', 12, 2.0, 3.0, 'S1', 20),
            ('I2', 'Gadget', 'hw', 'B', 6, 5.0, 8.0, 'S1', 10))
            t(item_id, description, category, abc_class, case_qty, unit_cost, unit_price,
              supplier_id, lead_time_days);
        CREATE TABLE inventory_snapshots AS SELECT * FROM (VALUES
            (DATE '2026-11-20', 'A', 'I1', 110.0, 10.0, 0.0, 0.0),
            (DATE '2026-11-20', 'B', 'I1', 900.0, 0.0, 0.0, 0.0),
            (DATE '2026-11-20', 'C', 'I1', 5000.0, 0.0, 0.0, 0.0),
            (DATE '2026-11-20', 'A', 'I2', 30.0, 0.0, 0.0, 0.0),
            (DATE '2026-11-19', 'A', 'I1', 130.0, 10.0, 0.0, 0.0))
            t(snapshot_date, location_id, item_id, on_hand_qty, allocated_qty,
              quarantined_qty, in_transit_qty);
        CREATE TABLE sales_order_lines AS
            SELECT 'A' AS location_id, 'I1' AS item_id, DATE '2026-11-20' - d::INTEGER AS order_ts_local_date,
                   10.0 AS ordered_qty, 'open' AS status FROM range(1, 29) r(d)
            UNION ALL SELECT 'B', 'I1', DATE '2026-11-20' - d::INTEGER, 5.0, 'open' FROM range(1, 29) r(d)
            UNION ALL SELECT 'A', 'I2', DATE '2026-11-20' - d::INTEGER, 3.0, 'open' FROM range(1, 29) r(d)
            UNION ALL SELECT 'A', 'I1', DATE '2026-11-19', 999.0, 'cancelled';
        CREATE TABLE purchase_order_lines AS SELECT * FROM (VALUES
            ('P1', 1, 'S1', 'I1', 'A', 100.0, DATE '2026-11-01', DATE '2026-12-10', 'open'),
            ('P2', 1, 'S1', 'I1', 'A', 50.0, DATE '2026-11-01', DATE '2026-11-25', 'closed'),
            ('P3', 1, 'S1', 'I2', 'A', 60.0, DATE '2026-11-01', DATE '2026-11-22', 'open'))
            t(po_id, line_no, supplier_id, item_id, location_id, ordered_qty, order_date,
              expected_date, status);
        CREATE TABLE receipts AS SELECT * FROM (VALUES
            ('R1', 1, 'P1', 1, 'I1', 'A', 40.0, TIMESTAMP '2026-11-18 10:00', DATE '2026-11-18'))
            t(receipt_id, line_no, po_id, po_line_no, item_id, location_id, received_qty,
              arrived_ts, arrived_ts_local_date);
        CREATE SCHEMA exc;
        CREATE TABLE exc.queue_items AS SELECT * FROM (VALUES
            ('1', 'stockout_risk', 'A|I1', 'open', 'A', 'E1', 'I1', 400.0,
             '{"snapshot_date": "2026-11-20", "available_qty": 100, "daily_demand": 10,
               "days_of_cover": 10, "lead_time_days": 20}'),
            ('2', 'stockout_risk', 'A|I2', 'open', 'A', 'E1', 'I2', 900.0,
             '{"snapshot_date": "2026-11-20", "available_qty": 30, "daily_demand": 3,
               "days_of_cover": 10, "lead_time_days": 10}'),
            ('3', 'stockout_risk', 'C|I1', 'resolved', 'C', 'E2', 'I1', 5000.0, '{}'))
            t(id, type, key, status, location_id, entity_id, item_id, value_at_risk, detail);
    """)
    yield c
    c.close()


def add_scores(c, rows) -> None:
    c.execute("CREATE SCHEMA IF NOT EXISTS risk")
    c.execute("""CREATE TABLE risk.stockout_scores (item_id VARCHAR, location_id VARCHAR,
        entity_id VARCHAR, as_of DATE, horizon_days INTEGER, probability DOUBLE,
        baseline_flag BOOLEAN, available_qty DOUBLE, on_hand_qty DOUBLE, daily_demand DOUBLE,
        days_of_cover DOUBLE, lead_time_days INTEGER, inbound_qty DOUBLE,
        next_receipt_date DATE, unit_cost DOUBLE, value_at_risk DOUBLE, risk_value DOUBLE,
        drivers VARCHAR, model_version VARCHAR, scored_at TIMESTAMP)""")
    for item, loc, entity, p, var in rows:
        c.execute(
            "INSERT INTO risk.stockout_scores VALUES (?, ?, ?, DATE '2026-11-20', 14, ?, TRUE, "
            "100, 110, 10, 10, 20, 60, DATE '2026-12-10', 2, ?, ?, ?, 'v1', now())",
            [
                item,
                loc,
                entity,
                p,
                var,
                p * var,
                '[{"feature": "f", "label": "Days of cover", "value": 10, "effect": 1.2, '
                '"direction": "raises"}]',
            ],
        )


class TestQueue:
    def test_without_scores_the_rule_items_rank_by_value_at_risk(self, con):
        q = triage.triage_queue(con, Scope())
        assert q.source == "rule"
        assert [r["item_id"] for r in q.rows] == ["I2", "I1"]  # 900 > 400; resolved C|I1 out
        assert q.rows[1]["on_hand_qty"] == 110

    def test_an_empty_scores_table_still_falls_back(self, con):
        add_scores(con, [])
        assert triage.triage_queue(con, Scope()).source == "rule"

    def test_scores_rank_by_probability_times_value(self, con):
        add_scores(
            con,
            [
                ("I1", "A", "E1", 0.9, 100.0),
                ("I2", "A", "E1", 0.2, 1000.0),
                ("I1", "C", "E2", 0.5, 300.0),
            ],
        )
        q = triage.triage_queue(con, Scope())
        assert q.source == "model"
        assert [(r["location_id"], r["item_id"]) for r in q.rows] == [
            ("A", "I2"),
            ("C", "I1"),
            ("A", "I1"),
        ]  # 200 > 150 > 90
        assert q.total == 3
        assert q.rows[0]["drivers"][0]["label"] == "Days of cover"
        assert model.reasons(q.rows[0]["drivers"]) == "↑ Days of cover 10"
        assert [
            r["item_id"] for r in triage.triage_queue(con, Scope(), min_probability=0.5).rows
        ] == ["I1", "I1"]
        assert triage.triage_queue(con, Scope(), search="gadg").rows[0]["item_id"] == "I2"
        limited = triage.triage_queue(con, Scope(), limit=1)
        assert (len(limited.rows), limited.total) == (1, 3)

    def test_scope_limits_rows_and_transfer_candidates(self, con):
        add_scores(con, [("I1", "A", "E1", 0.9, 100.0), ("I1", "C", "E2", 0.5, 300.0)])
        q = triage.triage_queue(con, Scope.of(locations=["A"]))
        assert {r["location_id"] for r in q.rows} == {"A"}
        triage.enrich(con, Scope.of(locations=["A"]), q.rows)
        # B is out of this scope: no transfer from it, so the late PO P1 is the suggestion.
        assert q.rows[0]["suggestion"].kind == "expedite"
        triage.enrich(con, Scope(), q.rows)
        assert q.rows[0]["suggestion"].text == "Transfer 100 from B"

    def test_open_po_lines_subtract_receipts_and_skip_closed_lines(self, con):
        lines = supply.open_po_lines(con, [("A", "I1"), ("A", "I2")])
        assert [(ln.po_id, ln.open_qty) for ln in lines[("A", "I1")]] == [("P1", 60.0)]
        assert [(ln.po_id, ln.open_qty) for ln in lines[("A", "I2")]] == [("P3", 60.0)]

    def test_site_stock_uses_the_28_day_demand_without_cancelled_lines(self, con):
        sites = {s.location_id: s for s in supply.site_stock(con, Scope(), ["I1"])["I1"]}
        assert sites["A"].available_qty == 100
        assert sites["A"].daily_demand == pytest.approx(10.0)
        assert sites["B"].excess_qty == pytest.approx(700.0)  # 900 - 2 * 20 * 5
        assert set(
            supply.site_stock(con, Scope.of(entities=["E2"]), ["I1"])["I1"][0].location_id
        ) == {"C"}

    def test_item_facts_respect_scope_and_reject_bad_ids(self, con):
        assert drill.item_facts(con, Scope(), "A", "I1").description == "Widget"
        assert drill.item_facts(con, Scope.of(locations=["B"]), "A", "I1") is None
        assert drill.item_facts(con, Scope(), "A", "nope") is None
        assert drill.item_facts(con, Scope(), "A", "x" * 500) is None
        assert drill.item_facts(con, Scope(), None, "I1") is None


class TestTriageActions:
    @pytest.fixture
    def store(self, tmp_path):
        s = ExceptionStore.open(f"sqlite:///{tmp_path / 'app.sqlite'}")
        now = datetime(2026, 11, 20, 8)
        with s.session() as session:
            for key, loc, entity, kind in (
                ("A|I1", "A", "E1", "stockout_risk"),
                ("C|I1", "C", "E2", "stockout_risk"),
                ("A|SO1", "A", "E1", "backordered_line"),
            ):
                session.add(
                    ExceptionItem(
                        type=kind,
                        key=key,
                        status="open",
                        severity="high",
                        owner_role="planner",
                        location_id=loc,
                        entity_id=entity,
                        item_id="I1",
                        sla_hours=24,
                        created_at=now,
                        last_seen_at=now,
                        detail={},
                    )
                )
        yield s
        s.close()

    def test_scope_type_and_version_are_checked_per_item(self, store):
        items = {i.key: i for i in store.items()}
        a, c, other = items["A|I1"], items["C|I1"], items["A|SO1"]
        out = actions.act_many(
            store,
            Scope.of(entities=["E1"]),
            [(a.id, a.version), (c.id, c.version), (other.id, other.version), (999, 1)],
            "acknowledge",
            user="pat",
            role="planner",
            types=(triage.EXCEPTION_TYPE,),
        ).results
        assert [o.ok for o in out] == [True, False, False, False]
        assert all("not found in your scope" in o.message for o in out[1:])
        assert store.get(c.id).status == "open"
        stale = actions.act_many(
            store,
            Scope(),
            [(a.id, a.version)],
            "assign",
            user="pat",
            role="planner",
            assignee="pat",
        ).results
        assert not stale[0].ok
        assert "conflict" in stale[0].message
        assert store.get(a.id).assignee is None
        assert triage.queue_items(store, ["A|I1", "C|I1", "A|SO1"]).keys() == {"A|I1", "C|I1"}


def test_describe_model_in_plain_words():
    card = {
        "version": "v3",
        "trained_at": datetime(2026, 11, 20, 6),
        "train_start": date(2026, 6, 1),
        "train_end": date(2026, 10, 31),
        "metrics": {
            "model": {"roc_auc": 0.861, "precision_at_k": 0.62, "k": 50},
            "baseline": {"roc_auc": 0.823, "precision_at_k": 0.48, "k": 50},
        },
    }
    assert model.describe_model(card) == (
        "Model v3 trained 2026-11-20 on 2026-06..2026-10; on the later unseen period it ranks "
        "stockouts with ROC AUC 0.86 vs 0.82 for the days-of-cover rule; precision of the top "
        "50: 62% vs 48%"
    )
