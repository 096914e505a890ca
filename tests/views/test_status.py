"""One set of status words and icons: every KPI status has an icon, a word and a tone, the
sentence word is the badge's word, and an unknown status reads as no value."""

from __future__ import annotations

from control_tower.views.status import KPI_STATUS, SLA_STATUS, kpi_status, status_word
from control_tower.web import kpi_ui


def test_every_status_reads_in_words_and_icons():
    assert set(KPI_STATUS) == {"ok", "warn", "breach", "none"}
    for icon, word, tone in (*KPI_STATUS.values(), *SLA_STATUS.values()):
        assert icon
        assert word
        assert tone in {"ok", "warn", "bad", "idle"}
    assert len({look[0] for look in KPI_STATUS.values()}) == 4  # never colour alone


def test_sentence_words_match_the_badges():
    assert [status_word(s) for s in ("ok", "warn", "breach", None)] == [
        "on target",
        "warning",
        "breach",
        "no value",
    ]
    assert kpi_status("no such status") == KPI_STATUS["none"]


def test_the_pages_use_the_same_table():
    assert kpi_ui.KPI_STATUS is KPI_STATUS
    assert kpi_ui.tone("breach") == "bad"
