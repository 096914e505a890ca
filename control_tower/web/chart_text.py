"""Data values on charts are shown as text, never read as markup.

Plotly draws labels, legends, hover text and category ticks through its own
small HTML dialect (`<b>`, `<br>`, `<a href>`, ...), so an item, site or
entity name from a source file such as `<img src=x onerror=alert(1)>` or
`<a href=...>` would be taken as tags. `escape_figure` escapes `&`, `<` and
`>` in every string of the trace fields that carry data (plotly turns the
entities back into those characters on screen), and in the axes' category
order. Our own templates (`hovertemplate`) and click payloads (`customdata`)
are left as they are.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go

TRACE_TEXT_KEYS = ("x", "y", "text", "hovertext", "name", "labels")
AXIS_TEXT_KEYS = ("categoryarray", "ticktext")

__all__ = ["chart_text", "escape_figure"]


def chart_text(value: Any) -> Any:
    """A string with `&`, `<` and `>` escaped (other values, and sequences' non-strings, as is)."""
    if isinstance(value, str):
        return html.escape(value, quote=False)
    if isinstance(value, list | tuple):
        return [chart_text(v) for v in value]
    return value


def _escaped(fields: Mapping[str, Any] | Any, keys: tuple[str, ...]) -> dict[str, Any]:
    """The escaped values of `keys` a trace or axis (dict or plotly object) has set."""
    return {k: chart_text(fields[k]) for k in keys if k in fields and fields[k] is not None}


def escape_figure(fig: Any) -> Any:
    """The figure (a `go.Figure` or a plain figure dict) with its data strings escaped, in place."""
    if isinstance(fig, go.Figure):
        fig.for_each_trace(lambda t: t.update(_escaped(t, TRACE_TEXT_KEYS)))
        fig.for_each_xaxis(lambda a: a.update(_escaped(a, AXIS_TEXT_KEYS)))
        fig.for_each_yaxis(lambda a: a.update(_escaped(a, AXIS_TEXT_KEYS)))
        return fig
    for trace in fig.get("data", ()):
        trace.update(_escaped(trace, TRACE_TEXT_KEYS))
    for name, axis in fig.get("layout", {}).items():
        if name.startswith(("xaxis", "yaxis")) and isinstance(axis, dict):
            axis.update(_escaped(axis, AXIS_TEXT_KEYS))
    return fig
