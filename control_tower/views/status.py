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

# Unresolved exception items (or a queue of them) against their SLA.
SLA_STATUS: dict[str, Look] = {
    "breached": ("⏰", "Past SLA", "bad"),
    "within": ("✓", "Within SLA", "ok"),
}

# Exception queue items: severity and workflow status.
SEVERITY: dict[str, Look] = {
    "high": ("▲", "High", "bad"),
    "medium": ("◆", "Medium", "warn"),
    "low": ("▽", "Low", "idle"),
}
EXCEPTION_STATUS: dict[str, Look] = {
    "open": ("●", "Open", "bad"),
    "acknowledged": ("✓", "Acknowledged", "info"),
    "snoozed": ("⏸", "Snoozed", "idle"),
    "resolved": ("✔", "Resolved", "ok"),
}

# What an action did: all saved, some saved, nothing saved.
ACTION_RESULT: dict[str, Look] = {
    "ok": ("✓", "Saved", "ok"),
    "partial": ("⚠", "Not all saved", "warn"),
    "refused": ("✕", "Not saved", "bad"),
}


def kpi_status(status: str | None) -> Look:
    """The icon, word and tone of a KPI status (None or unknown: no value)."""
    return KPI_STATUS.get(status or "none", KPI_STATUS["none"])


def status_word(status: str | None) -> str:
    """A KPI status in lower-case words for a sentence: on target, warning, breach, no value."""
    return kpi_status(status)[1].lower()
