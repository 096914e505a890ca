"""The review's measures and the model-against-rule ranking, worked out by hand on the case
of tests/support/decision_cases.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from control_tower.accounts import Scope
from control_tower.decisions.review import Figure, Measure, Review
from tests.support import decision_cases as dc


@pytest.fixture(scope="module")
def found(tmp_path_factory: pytest.TempPathFactory) -> Review:
    return dc.case_review(tmp_path_factory.mktemp("review"))


def _measure(r: Review, name: str) -> Measure:
    return next(m for m in r.measures if m.name == name)


def test_false_positives_that_stocked_out_anyway(found: Review) -> None:
    m = _measure(found, "false_positive_stocked_out")
    # #1 stocked out, #2 did not, #3 too early: 1 of 2 known, 1 apart
    assert m.overall == Figure("all", "", 1, 2, 1)
    assert m.overall.share == 0.5
    assert m.by("site") == [Figure("site", "DC-A", 1, 2, 0), Figure("site", "DC-B", 0, 0, 1)]
    assert m.by("person") == [
        Figure("person", "alice", 1, 1, 1),
        Figure("person", "bob", 0, 1, 0),
    ]


def test_actions_confirmed_on_time(found: Review) -> None:
    m = _measure(found, "actions_on_time")
    # on time: #1 and #6; late #2, never #3, rejected #4; #5 not yet due
    assert m.overall == Figure("all", "", 2, 5, 1)
    assert m.by("person") == [
        Figure("person", "alice", 0, 2, 0),
        Figure("person", "bob", 1, 2, 1),
        Figure("person", "carol", 1, 1, 0),
    ]


def test_re_promises_met(found: Review) -> None:
    m = _measure(found, "repromises_met")
    # resolutions: #4 met, #5 missed, #6 too early; request #6 (to 03-12) met
    assert m.overall == Figure("all", "", 2, 3, 1)
    assert m.by("site") == [Figure("site", "DC-A", 1, 1, 1), Figure("site", "DC-B", 1, 2, 0)]


def test_the_model_ranking_against_the_rule(found: Review) -> None:
    overall, site_a, site_b = found.ranking
    # known and scored: #11 (0.9, stocks out), #12 (0.7), #13 (0.4), #14 (0.2, stocks out)
    # model order 11, 12, 13, 14: AP = (1/1 + 2/4) / 2 = 0.75
    # rule order by cover 14 (0.5), 12 (1), 11 (5), 13 (6): AP = (1/1 + 2/3) / 2
    assert (overall.items, overall.events, overall.too_early) == (4, 2, 1)
    assert overall.unscored == 4  # #1, #2, #3 and #15 carry no model score
    assert overall.model_ap == pytest.approx(0.75)
    assert overall.rule_ap == pytest.approx(5 / 6)
    # top 25 per day: 03-10 holds 11, 12, 13 (1 of 3), 03-05 holds 14 (1 of 1)
    assert overall.days == 2
    assert overall.model_top == pytest.approx((1 / 3 + 1) / 2)
    assert overall.rule_top == pytest.approx((1 / 3 + 1) / 2)
    assert site_b.key == "DC-B"
    assert site_b.model_ap == pytest.approx(1.0)
    assert site_b.rule_ap == pytest.approx(0.5)  # 12 outranks 11
    assert site_a.key == "DC-A"
    assert site_a.model_ap is None  # one item, one class: no average precision


def test_a_site_scoped_user_gets_figures_of_their_site_only(tmp_path: Path) -> None:
    found = dc.case_review(tmp_path, Scope.of(locations={"DC-A"}))
    fp = _measure(found, "false_positive_stocked_out")
    assert fp.overall == Figure("all", "", 1, 2, 0)
    assert [f.key for f in fp.by("site")] == ["DC-A"]
    assert [r.key for r in found.ranking] == ["", "DC-A"]
    assert found.ranking[0].items == 1
