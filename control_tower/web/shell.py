"""The frame around every page: product name, navigation from the page registry, page container."""

from __future__ import annotations

import dash
from dash import Input, Output, dcc, html

PRODUCT_NAME = "Control Tower"
HOME_PATH = "/data-health"  # where `/` and the product name lead, until there is a home page


def shell_layout() -> html.Div:
    """Header with the product name and one link per registered page, then the page itself."""
    links = [
        dcc.Link(page["name"], href=page["relative_path"], className="shell-nav-link")
        for page in dash.page_registry.values()
        if page.get("nav", True)
    ]
    return html.Div(
        className="shell",
        children=[
            dcc.Location(id="shell-location"),
            html.Header(
                className="shell-header",
                children=[
                    dcc.Link(
                        [
                            html.Span("◆", className="shell-logo", **{"aria-hidden": "true"}),
                            PRODUCT_NAME,
                        ],
                        href=HOME_PATH,
                        className="shell-brand",
                    ),
                    html.Nav(
                        links, id="shell-nav", className="shell-nav", **{"aria-label": "Pages"}
                    ),
                ],
            ),
            html.Main(dash.page_container, className="shell-main"),
        ],
    )


def install_shell(app: dash.Dash) -> None:
    """Give the app its frame and the callback that marks the current page's link."""
    app.layout = shell_layout
    # aria-current drives the link's style, and tells screen readers where they are.
    app.clientside_callback(
        """
        function(pathname) {
            document.querySelectorAll('#shell-nav a').forEach(a => {
                if (new URL(a.href).pathname === pathname) {
                    a.setAttribute('aria-current', 'page');
                } else {
                    a.removeAttribute('aria-current');
                }
            });
            return window.dash_clientside.no_update;
        }
        """,
        Output("shell-nav", "title"),
        Input("shell-location", "pathname"),
    )
