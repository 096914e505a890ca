"""Number, time and size formats shared by every page, so the same value reads the same everywhere."""

from __future__ import annotations

from datetime import datetime

DASH = "—"


def fmt_int(value: float | None) -> str:
    """A count with thousands separators: 12,345 (a dash when unknown)."""
    return DASH if value is None else f"{round(value):,}"


def fmt_ts(value: datetime | None) -> str:
    """A naive-UTC timestamp to the minute: 2025-03-01 14:05 UTC."""
    return DASH if value is None else f"{value:%Y-%m-%d %H:%M} UTC"


def fmt_ts_seconds(value: datetime | None) -> str:
    """A naive-UTC timestamp to the second, sortable as text: 2025-03-01 14:05:09."""
    return "" if value is None else f"{value:%Y-%m-%d %H:%M:%S}"


def fmt_ts_minutes(value: datetime | None) -> str:
    """A naive-UTC timestamp to the minute, for a column headed UTC: 2025-03-01 14:05."""
    return "" if value is None else f"{value:%Y-%m-%d %H:%M}"


def fmt_hours(hours: float | None) -> str:
    """A duration given in hours, in the unit that reads best: 45 min, 5.2 h, 3.0 d."""
    if hours is None:
        return DASH
    minutes = hours * 60
    if minutes < 1:
        return "< 1 min"
    if minutes < 90:
        return f"{minutes:.0f} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} d"


def fmt_ago(value: datetime | None, now: datetime) -> str:
    """How long ago a naive-UTC time was: 5 min ago (a dash when unknown)."""
    if value is None:
        return DASH
    hours = max((now - value).total_seconds(), 0) / 3600
    return f"{fmt_hours(hours)} ago"


def fmt_ms(ms: float | None) -> str:
    """A duration given in milliseconds: 850 ms, 12.4 s, 3.5 min."""
    if ms is None:
        return DASH
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 120_000:
        return f"{ms / 1000:.1f} s"
    return f"{ms / 60_000:.1f} min"


def fmt_bytes(size: float | None) -> str:
    """A file size: 812 B, 4.2 KB, 643.0 MB."""
    if size is None:
        return DASH
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"  # pragma: no cover - loop always returns


def plural(count: int, word: str, words: str | None = None) -> str:
    """`1 file`, `3 files` with the count formatted."""
    return f"{fmt_int(count)} {word if count == 1 else (words or word + 's')}"


def fmt_money(value: float | None) -> str:
    """An amount of money, whole units with thousands separators: 12,345 (a dash when unknown)."""
    return DASH if value is None else f"{value:,.0f}"


def fmt_amount(value: float | None, currency: str | None, *, missing: str = "no rate") -> str:
    """An amount with its currency code, compact from ten thousand up: USD 9,876, USD 12.3K,
    EUR 1.2M (`missing` when it could not be converted: never shown as zero)."""
    if value is None:
        return missing
    code = f"{currency} " if currency else ""
    size = abs(value)
    sign = "−" if value < 0 else ""
    # from the size that rounds to 1.0 of the unit: 999,950 reads USD 1.0M, not USD 1000.0K
    for limit, unit, suffix in ((999.95e6, 1e9, "B"), (999.95e3, 1e6, "M"), (1e4, 1e3, "K")):
        if size >= limit:
            return f"{code}{sign}{size / unit:.1f}{suffix}"
    return f"{code}{sign}{size:,.0f}"
