"""KPI value formats, as definitions declare them."""

from __future__ import annotations

import pytest

from control_tower.kpi.format import format_value


@pytest.mark.parametrize(
    ("value", "pattern", "text"),
    [
        (0.98831, "0.0%", "98.8%"),
        (2 / 3, "0.0%", "66.7%"),
        (3.6229, "0.0", "3.6"),
        (1234567.4, "#,##0", "1,234,567"),
        (1234.5678, "#,##0.00", "1,234.57"),
        (None, "0.0%", "—"),
    ],
)
def test_values_read_as_their_definition_says(value: float | None, pattern: str, text: str) -> None:
    assert format_value(value, pattern) == text


def test_an_unknown_pattern_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"unsupported number format '0,0'"):
        format_value(1.0, "0,0")
