"""Names from source data drawn by plotly in a real browser, under the app's CSP: as text.

A breakdown figure as the KPI page builds it, for sites named like markup, is drawn
with the page's own plotly; its ticks show the names' characters, and no element (image,
link) or dialog comes of them.
"""

from __future__ import annotations

import json

import pytest

from control_tower.views.kpi import Bar, cached_catalog
from control_tower.web import kpi_ui

MARKUP = "<img src=x onerror=alert(1)>"
# Tags plotly's own label dialect knows: drawn as a bold name and a live link unless escaped.
LINK = '<b>DC</b> <a href="https://evil.example/">log in again</a>'
DRAW = """async (fig) => {
    const div = document.createElement('div');
    document.body.appendChild(div);
    await window.Plotly.newPlot(div, fig.data, fig.layout);
    return {
        images: div.querySelectorAll('svg img, svg image').length,
        links: div.querySelectorAll('svg a').length,
        ticks: [...div.querySelectorAll('.ytick text')].map(t => t.textContent).sort(),
    };
}"""


@pytest.fixture
def page(tab_as, served_demo):
    return tab_as(served_demo, "executive", timeout_ms=20_000)


def test_a_site_named_like_markup_is_shown_as_text(page, served_demo, demo_settings):
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message) or dialog.dismiss())
    page.goto(served_demo.url + "/kpi/line_fill_rate")
    page.wait_for_selector("#kpi-breakdown .js-plotly-plot")
    kpi = cached_catalog(demo_settings.kpi_definitions).kpis["line_fill_rate"]
    bars = [Bar(MARKUP, 0.9, 9, 10, "ok"), Bar(LINK, 0.8, 8, 10, "warn")]
    figure = kpi_ui.breakdown_figure(kpi, bars, selected=None)
    drawn = page.evaluate(DRAW, json.loads(figure.to_json()))
    assert drawn == {"images": 0, "links": 0, "ticks": sorted([MARKUP, LINK])}
    assert dialogs == []
