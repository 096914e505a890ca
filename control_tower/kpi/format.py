"""How a KPI value reads: the definition's `format` pattern applied, the same in every output."""

from __future__ import annotations

import re

_PATTERN = re.compile(r"^(?P<group>#,##)?0(?:\.(?P<decimals>0+))?(?P<percent>%)?$")


def format_value(value: float | None, pattern: str, *, missing: str = "—") -> str:
    """Format `value` with a spreadsheet-style pattern: "0.0%", "0.0", "#,##0", "#,##0.00"."""
    if value is None:
        return missing
    match = _PATTERN.match(pattern.strip())
    if match is None:
        raise ValueError(
            f"unsupported number format {pattern!r}: use 0, 0.0, 0.00, #,##0, #,##0.0 "
            "and an optional trailing %"
        )
    decimals = len(match.group("decimals") or "")
    number = value * 100 if match.group("percent") else value
    text = f"{number:,.{decimals}f}" if match.group("group") else f"{number:.{decimals}f}"
    return text + ("%" if match.group("percent") else "")
