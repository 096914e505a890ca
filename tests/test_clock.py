"""The product's clock: the real time, or one started at CONTROL_TOWER_NOW."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from control_tower.settings import SettingsError, clock, load_settings, utc_now


def test_without_the_setting_the_clock_is_the_real_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONTROL_TOWER_NOW")
    before = datetime.now(UTC)
    now = clock()
    assert before <= now <= datetime.now(UTC)


def test_the_setting_starts_the_clock_at_its_instant_and_it_runs_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CONTROL_TOWER_NOW", "2026-03-18T12:00:00+01:00")
    start = datetime(2026, 3, 18, 11, 0, tzinfo=UTC)
    first = clock()
    assert first.tzinfo == UTC
    assert start <= first < start + timedelta(hours=12)
    later = utc_now()
    assert later.tzinfo is None
    assert first.replace(tzinfo=None) <= later


def test_an_instant_without_offset_is_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTROL_TOWER_NOW", "2026-03-18T11:00:00")
    assert datetime(2026, 3, 18, 11, 0) <= utc_now() < datetime(2026, 3, 18, 23, 0)


def test_a_bad_instant_is_refused_when_settings_load(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.setenv("CONTROL_TOWER_NOW", "next tuesday")
    message = "CONTROL_TOWER_NOW must be an ISO 8601 instant such as 2026-03-15T11:00:00Z"
    with pytest.raises(SettingsError, match=message):
        load_settings(tmp_path)
