"""The reporting currency setting: USD unless set, three capital letters, refused otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from control_tower.settings import SettingsError, load_settings


def test_the_reporting_currency_is_usd_unless_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONTROL_TOWER_REPORTING_CURRENCY", raising=False)
    assert load_settings(tmp_path).reporting_currency == "USD"
    monkeypatch.setenv("CONTROL_TOWER_REPORTING_CURRENCY", "EUR")
    assert load_settings(tmp_path).reporting_currency == "EUR"


@pytest.mark.parametrize("value", ["eur", "EURO", "E1R", "US", "ÉUR"])
def test_a_reporting_currency_that_is_not_an_iso_code_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("CONTROL_TOWER_REPORTING_CURRENCY", value)
    with pytest.raises(
        SettingsError,
        match=rf"CONTROL_TOWER_REPORTING_CURRENCY='{value}' must be an ISO 4217 currency code: "
        "three capital letters",
    ):
        load_settings(tmp_path)
