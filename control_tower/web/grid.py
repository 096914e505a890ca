"""AG Grid conventions shared by every page: theme, number formats and column builders.

The browser-side functions they name are in `assets/dashAgGridFunctions.js`.

The theme is AG Grid's Theming API (the default since grid 33, as in
dash-ag-grid 35): Quartz, with its colours and font taken from the CSS
variables of `assets/` so that one stylesheet styles the grids too.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

# The functions named here live in `assets/dashAgGridFunctions.js`.
GRID_THEME: dict[str, str] = {"function": "ctGridTheme(themeQuartz)"}
# Row ids: a plain expression, as dash-ag-grid needs to match `selectedRows` set by a callback.
ROW_ID = "params.data.row_id"


def number_format(spec: str, empty: str = "") -> dict[str, str]:
    """A valueFormatter showing numbers in a d3 format (`,` `,.0f` `.0%`), `empty` for none."""
    return {"function": f"ctNumber(params, d3, {json.dumps(spec)}, {json.dumps(empty)})"}


def row_in(field: str, values: Sequence[str]) -> dict[str, str]:
    """A rowClassRules rule: the row's `field` is one of `values`."""
    return {"function": f"ctRowIn(params, {json.dumps(field)}, {json.dumps(list(values))})"}


INT_FORMAT = number_format(",")
MS_FORMAT = {"function": "ctDuration(params, d3)"}


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


def paged_grid(
    *,
    page_size: int,
    selection: dict[str, Any],
    class_name: str,
    style: dict[str, str] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """The props of a grid whose rows a callback sends whole: sortable, resizable, paged.

    `selection` is AG Grid's rowSelection and `options` go to dashGridOptions; pass the result to
    `dag.AgGrid(id=..., columnDefs=..., **paged_grid(...))`.
    """
    return {
        "rowData": [],
        "getRowId": ROW_ID,
        "defaultColDef": {"sortable": True, "resizable": True},
        "dashGridOptions": grid_options(
            rowSelection=selection,
            pagination=True,
            paginationPageSize=page_size,
            paginationPageSizeSelector=[page_size, 50, 100],
            **options,
        ),
        "className": class_name,
        **({"style": style} if style else {}),
    }


def columnar(rows: Sequence[dict[str, Any]]) -> dict[str, list[Any]]:
    """Grid rows in a compact form, each field name sent once: `{"fields": [...], "values":
    [[...], ...]}` (rows with the fields of the first). A clientside callback
    (`controlTower.rowsFromColumns` in `assets/clientside.js`) turns it back into rowData."""
    fields = list(rows[0]) if rows else []
    return {"fields": fields, "values": [[row.get(f) for f in fields] for row in rows]}


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
            "function": f"ctValueIn(params, {json.dumps(values)})"
        }
    return {
        "field": field,
        "headerName": header,
        "valueFormatter": {"function": f"ctLabel(params, {json.dumps(texts)})"},
        "cellClassRules": rules,
        "filter": "agTextColumnFilter",
        "filterParams": dict(FILTER_PARAMS),
        **extra,
    }
