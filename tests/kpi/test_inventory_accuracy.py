"""Inventory record accuracy: ABC tolerances, inclusive and exact at the boundary."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.kpi_rows import kpi_rows, land_rows

HEADER = "count_id,location_id,bin_id,item_id,counted_at,system_qty,counted_qty,counter_id\n"


class TestToleranceBoundaries:
    """Counts at L1 on 2026-03-02; I1 is class A (1%), I2 class B (3%), I3 class C (5%).

    count  item  system  counted  variance  tolerance       accurate?
    A1     I1    100     99       1         1.00            yes (exactly at it)
    A2     I1    100     98.99    1.01      1.00            no
    B1     I2    1000    1030     30        30.00           yes (over, at it)
    B2     I2    1000    969.99   30.01     30.00           no
    C1     I3    20      19       1         1.00            yes
    Z1     I3    0       0        0         -               yes (empty and empty)
    Z2     I3    0       1        1         -               no (system 0, found 1)
    7 counts, 4 accurate; unit accuracy 1 - (1+1.01+30+30.01+1+0+1) / 2220
    """

    @pytest.fixture(scope="class")
    @classmethod
    def home(cls, tmp_path_factory: pytest.TempPathFactory) -> Path:
        home = tmp_path_factory.mktemp("counts") / "home"
        rows = [
            ("A1", "I1", "100", "99"),
            ("A2", "I1", "100", "98.99"),
            ("B1", "I2", "1000", "1030"),
            ("B2", "I2", "1000", "969.99"),
            ("C1", "I3", "20", "19"),
            ("Z1", "I3", "0", "0"),
            ("Z2", "I3", "0", "1"),
        ]
        text = HEADER + "".join(
            f"{c},L1,BIN,{i},2026-03-02 07:30:00,{s},{n},U1\n" for c, i, s, n in rows
        )
        land_rows(home, {"cycle_counts": text})
        return home

    def test_counts_at_the_tolerance_are_accurate(self, home: Path) -> None:
        rows = kpi_rows(home, "inventory_record_accuracy", "2026-03-10")
        assert (rows[0]["numerator"], rows[0]["denominator"]) == (4, 7)  # A1, B1, C1, Z1

    def test_by_abc_class(self, home: Path) -> None:
        rows = kpi_rows(home, "inventory_record_accuracy", "2026-03-10", by=["abc_class"])
        assert [(r["abc_class"], r["numerator"], r["denominator"]) for r in rows] == [
            ("A", 1, 2),
            ("B", 1, 2),
            ("C", 2, 3),
        ]

    def test_a_tighter_tolerance_is_a_parameter(self, home: Path) -> None:
        rows = kpi_rows(
            home, "inventory_record_accuracy", "2026-03-10", parameters={"tolerance_a": "0.0099"}
        )
        assert rows[0]["numerator"] == 3  # A1 (1 > 0.99) is no longer accurate

    def test_unit_accuracy_never_nets_variances(self, home: Path) -> None:
        rows = kpi_rows(home, "inventory_unit_accuracy", "2026-03-10")
        assert rows[0]["value"] == pytest.approx(1 - 64.02 / 2220)  # 1+1.01+30+30.01+1+1 over 2220
