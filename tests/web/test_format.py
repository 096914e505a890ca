"""Number and time formats: the same value reads the same on every page."""

from __future__ import annotations

from datetime import datetime

import pytest

from control_tower.web import format as f


@pytest.mark.parametrize(
    ("hours", "text"),
    [
        (None, "—"),
        (0.001, "< 1 min"),
        (0.5, "30 min"),
        (1.4, "84 min"),
        (5.25, "5.2 h"),
        (72, "3.0 d"),
    ],
)
def test_hours(hours, text):
    assert f.fmt_hours(hours) == text


@pytest.mark.parametrize(
    ("ms", "text"), [(None, "—"), (850, "850 ms"), (12_400, "12.4 s"), (210_000, "3.5 min")]
)
def test_milliseconds(ms, text):
    assert f.fmt_ms(ms) == text


def test_counts_sizes_and_times():
    assert f.fmt_int(1234567) == "1,234,567"
    assert f.fmt_int(None) == "—"
    assert f.fmt_bytes(812) == "812 B"
    assert f.fmt_bytes(4300) == "4.2 KB"
    assert f.fmt_ts(datetime(2025, 3, 1, 14, 5, 9)) == "2025-03-01 14:05 UTC"
    assert f.fmt_ts_minutes(datetime(2025, 3, 1, 14, 5, 9)) == "2025-03-01 14:05"
    assert f.fmt_ago(datetime(2025, 3, 1, 12), datetime(2025, 3, 1, 12, 45)) == "45 min ago"
    assert f.plural(1, "file") == "1 file"
    assert f.plural(2, "batch", "batches") == "2 batches"


@pytest.mark.parametrize(
    ("value", "currency", "text"),
    [
        (None, "USD", "no rate"),
        (0, "USD", "USD 0"),
        (9_876.4, "USD", "USD 9,876"),
        (12_345, "EUR", "EUR 12.3K"),
        (999_950, "USD", "USD 1.0M"),
        (1_234_567, "USD", "USD 1.2M"),
        (-25_000, "USD", "USD −25.0K"),
        (2.5e9, "USD", "USD 2.5B"),
    ],
)
def test_amounts_carry_their_currency_and_never_read_zero_when_missing(value, currency, text):
    assert f.fmt_amount(value, currency) == text
