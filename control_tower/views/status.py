"""The words and icons every page uses for a status, so a KPI reads the same everywhere.

Each status maps to (icon, word, tone); the tone names the CSS class of a badge or tile
(`badge--ok`, `kpi--bad`, ...). A status is always told in words beside its icon, never by
colour alone.
"""

from __future__ import annotations

Look = tuple[str, str, str]  # (icon, word, tone)

# A KPI value against its thresholds (`kpi.serving.status_of`); "none": no value.
KPI_STATUS: dict[str, Look] = {
    "ok": ("✓", "On target", "ok"),
    "warn": ("⚠", "Warning", "warn"),
    "breach": ("✕", "Breach", "bad"),
    "none": ("○", "No value", "idle"),
}

# Unresolved exception items against their SLA.
SLA_STATUS: dict[str, Look] = {
    "past": ("⏰", "Past SLA", "bad"),
    "within": ("✓", "Within SLA", "ok"),
}


def kpi_status(status: str | None) -> Look:
    """The icon, word and tone of a KPI status (None or unknown: no value)."""
    return KPI_STATUS.get(status or "none", KPI_STATUS["none"])


def status_word(status: str | None) -> str:
    """A KPI status in lower-case words for a sentence: on target, warning, breach, no value."""
    return kpi_status(status)[1].lower()
