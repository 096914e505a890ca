"""The frame around every page: product name, the role's navigation, the user, page container."""

from __future__ import annotations

import dash
from dash import ClientsideFunction, Input, Output, dcc, html

from control_tower.exceptions.store import ExceptionStore
from control_tower.notifications import unread_count
from control_tower.web.auth import ROLE_LABELS, allowed_pages, current_web_user, require
from control_tower.web.runtime import web_context
from control_tower.web.sessions import csrf_token
from control_tower.web.signin import LOGOUT_PATH

PRODUCT_NAME = "Control Tower"
BELL = "shell-bell"
BELL_COUNT = "shell-bell-count"
NOTIFICATIONS_PATH = "/notifications"
# A bell drawn inline (an emoji needs a font the machine may not have).
_BELL_ICON = (
    "data:image/svg+xml;utf8,<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 24 24' "
    "fill='none' stroke='%23e5e7eb' stroke-width='2' stroke-linecap='round'>"
    "<path d='M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9'/><path d='M10 21a2 2 0 0 0 4 0'/></svg>"
)


def bell_text(store: ExceptionStore, user: str) -> str:
    """The bell's badge: the user's unread count ("" when none)."""
    count = unread_count(store, user)
    return "" if count == 0 else ("99+" if count > 99 else str(count))


def _bell() -> dcc.Link:
    """A link to the notifications page with the unread count (filled in per page view)."""
    return dcc.Link(
        [
            html.Img(src=_BELL_ICON, alt="", className="shell-bell-icon", width=18, height=18),
            html.Span("Notifications", className="visually-hidden"),
            html.Span(id=BELL_COUNT, className="shell-bell-count"),
        ],
        id=BELL,
        href=dash.get_relative_path(NOTIFICATIONS_PATH),
        className="shell-bell",
        title="Notifications",
    )


def _user_menu() -> html.Div | None:
    """Who is signed in, and a sign-out button (a POST form with the session's CSRF token)."""
    user = current_web_user()
    if user is None:
        return None
    return html.Div(
        className="shell-user",
        children=[
            _bell(),
            html.Span(
                [html.Strong(user.name, id="shell-user-name"), " · ", ROLE_LABELS[user.role]],
                className="shell-user-label",
            ),
            html.Form(
                [
                    dcc.Input(type="hidden", name="csrf_token", value=csrf_token()),
                    html.Button("Sign out", type="submit", id="shell-signout"),
                ],
                method="post",
                action=dash.get_relative_path(LOGOUT_PATH),
                className="shell-signout",
            ),
        ],
    )


def shell_layout() -> html.Div:
    """Header with the product name, a link per page the user's role may open, then the page."""
    user = current_web_user()
    links = [
        dcc.Link(page["name"], href=page["relative_path"], className="shell-nav-link")
        for page in allowed_pages(user.role if user else None)
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
                        href=dash.get_relative_path("/"),
                        className="shell-brand",
                        refresh=True,  # `/` is answered by the server (the role's first page)
                    ),
                    html.Nav(
                        links, id="shell-nav", className="shell-nav", **{"aria-label": "Pages"}
                    ),
                    _user_menu(),
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
        ClientsideFunction("controlTower", "markCurrentNav"),
        Output("shell-nav", "title"),
        Input("shell-location", "pathname"),
    )

    @app.callback(Output(BELL_COUNT, "children"), Input("shell-location", "pathname"))
    def count_unread(_path: str | None) -> str:
        """One indexed count per page view, for the user of the server-side session."""
        user = require()
        return bell_text(web_context().exceptions, user.name)
