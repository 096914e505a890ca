"""The KPI detail's figures (`control_tower.views.kpi_detail`) on the small demo: the value,
the span before, the breakdown and the exceptions behind the number equal independent
questions to the snapshot; a member narrows the value; a scope the KPI cannot apply refuses."""

from __future__ import annotations

from datetime import timedelta

import pytest

from control_tower.accounts import Scope
from control_tower.kpi.serving import OutOfScopeError, latest_as_of
from control_tower.views.kpi import utc_now
from control_tower.views.kpi_detail import kpi_detail
from tests.support.dash_callbacks import ratio_from_values
from tests.support.web_users import SUPERVISOR_SITE


def _range(snapshot, days=27):
    end = latest_as_of(snapshot)
    return end - timedelta(days=days), end


def _detail(snapshot, kpi, scope=None, by="location_id", member=None, grain="day"):
    start, end = _range(snapshot)
    return kpi_detail(
        snapshot,
        kpi,
        scope or Scope(),
        start=start,
        end=end,
        grain=grain,
        dimension=by,
        member=member,
        now=utc_now(),
    )


def test_value_span_before_and_breakdown_match_kpi_values(snapshot, catalog):
    kpi = catalog.kpi("line_fill_rate")
    detail = _detail(snapshot, kpi)
    start, end = detail.start, detail.end
    assert detail.days == 28
    assert detail.current.value.value == pytest.approx(ratio_from_values(snapshot, kpi, start, end))
    before = ratio_from_values(snapshot, kpi, start - timedelta(days=28), start - timedelta(days=1))
    assert detail.before.value.value == pytest.approx(before)
    assert detail.change.delta == pytest.approx(detail.current.value.value - before)
    assert {b.member for b in detail.bars} == {"DC-CHI", "DC-NJ", "DC-RNO", "DC-RTM"}
    values = [b.value for b in detail.bars]
    assert values == sorted(values)  # worst (lowest fill rate) first
    for bar in detail.bars:
        expected = ratio_from_values(snapshot, kpi, start, end, location_id=bar.member)
        assert bar.value == pytest.approx(expected)


def test_the_exceptions_behind_the_number(snapshot, catalog):
    detail = _detail(snapshot, catalog.kpi("line_fill_rate"))
    count, value = snapshot.execute(
        "SELECT count(*), coalesce(sum(value_at_risk), 0) FROM exc.queue_items "
        "WHERE type = 'short_shipment' AND status <> 'resolved'"
    ).fetchone()
    found = detail.exceptions
    assert found.count == count
    assert found.value_at_risk == pytest.approx(float(value))
    assert len(found.rows) == min(count, 10)
    risks = [r.value_at_risk or 0 for r in found.rows]
    assert risks == sorted(risks, reverse=True)


def test_a_member_narrows_the_value_and_a_site_scope_its_breakdown(snapshot, catalog):
    kpi = catalog.kpi("line_fill_rate")
    detail = _detail(snapshot, kpi, by="abc_class", member="C")
    expected = ratio_from_values(snapshot, kpi, detail.start, detail.end, abc_class="C")
    assert detail.current.value.value == pytest.approx(expected)
    site = _detail(snapshot, kpi, Scope.of(locations=[SUPERVISOR_SITE]))
    assert [b.member for b in site.bars] == [SUPERVISOR_SITE]
    assert {r.location_id for r in site.exceptions.rows} <= {SUPERVISOR_SITE}


def test_a_kpi_without_the_scoped_dimension_refuses(snapshot, catalog):
    with pytest.raises(OutOfScopeError):
        _detail(
            snapshot,
            catalog.kpi("days_to_close"),
            Scope.of(locations=[SUPERVISOR_SITE]),
            by="entity_id",
        )
