"""AG Grid conventions shared by every page: theme, number formats and column builders.

The theme is AG Grid's Theming API (the default since grid 33, as in
dash-ag-grid 35): Quartz, with its colours and font taken from the CSS
variables of `assets/` so that one stylesheet styles the grids too.
"""

from __future__ import annotations

import json
from typing import Any

GRID_THEME: dict[str, str] = {
    "function": (
        "themeQuartz.withParams({"
        "fontFamily: 'inherit', fontSize: 13, headerFontSize: 12, headerFontWeight: 600, "
        "spacing: 6, wrapperBorderRadius: 8, borderRadius: 4, "
        "accentColor: 'var(--ct-accent)', foregroundColor: 'var(--ct-text)', "
        "backgroundColor: 'var(--ct-surface)', borderColor: 'var(--ct-border)', "
        "headerBackgroundColor: 'var(--ct-surface-muted)', headerTextColor: 'var(--ct-text-muted)', "
        "oddRowBackgroundColor: 'var(--ct-surface-stripe)', "
        "selectedRowBackgroundColor: 'var(--ct-accent-soft)', browserColorScheme: 'light'"
        "})"
    )
}

INT_FORMAT = {"function": "params.value == null ? '' : d3.format(',')(params.value)"}
MS_FORMAT = {
    "function": (
        "params.value == null ? '' : params.value < 1000 ? params.value + ' ms' : "
        "params.value < 120000 ? d3.format('.1f')(params.value / 1000) + ' s' : "
        "d3.format('.1f')(params.value / 60000) + ' min'"
    )
}
# Column filters: up to two conditions joined by AND/OR (`control_tower.gridquery` reads them).
FILTER_PARAMS: dict[str, Any] = {"maxNumConditions": 2, "buttons": ["reset"]}


def grid_options(**extra: Any) -> dict[str, Any]:
    """dashGridOptions every grid starts from."""
    return {
        "theme": GRID_THEME,
        "animateRows": False,
        "enableCellTextSelection": True,
        "tooltipShowDelay": 400,
        "suppressCellFocus": False,
        **extra,
    }


def text_col(field: str, header: str, **extra: Any) -> dict[str, Any]:
    """A text column with a text filter (contains, equals, starts with ...)."""
    return {
        "field": field,
        "headerName": header,
        "filter": "agTextColumnFilter",
        "filterParams": {**FILTER_PARAMS, "debounceMs": 400},
        **extra,
    }


def int_col(field: str, header: str, **extra: Any) -> dict[str, Any]:
    """A right-aligned count with thousands separators and a number filter."""
    return {
        "field": field,
        "headerName": header,
        "type": "numericColumn",
        "valueFormatter": INT_FORMAT,
        "filter": "agNumberColumnFilter",
        "filterParams": {**FILTER_PARAMS, "inRangeInclusive": True},
        **extra,
    }


def ms_col(field: str, header: str, **extra: Any) -> dict[str, Any]:
    """A right-aligned duration given in milliseconds (850 ms, 12.4 s)."""
    return {
        "field": field,
        "headerName": header,
        "type": "numericColumn",
        "valueFormatter": MS_FORMAT,
        "filter": False,
        **extra,
    }


def status_col(
    field: str, header: str, labels: dict[str, tuple[str, str]], **extra: Any
) -> dict[str, Any]:
    """A status shown as icon and word, coloured by tone (`labels`: value -> (text, tone))."""
    texts = {value: text for value, (text, _tone) in labels.items()}
    rules = {}
    for tone in sorted({tone for _text, tone in labels.values()}):
        values = [v for v, (_t, t) in labels.items() if t == tone]
        rules[f"cell-status cell-status--{tone}"] = {
            "function": f"{json.dumps(values)}.includes(params.value)"
        }
    return {
        "field": field,
        "headerName": header,
        "valueFormatter": {"function": f"({json.dumps(texts)})[params.value] || params.value"},
        "cellClassRules": rules,
        "filter": "agTextColumnFilter",
        "filterParams": dict(FILTER_PARAMS),
        **extra,
    }
