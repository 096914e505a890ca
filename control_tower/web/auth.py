"""Who is signed in, and what their role may open: the authorisation of every request.

- `require(roles=...)` starts every data callback, download and API view: it
  returns the signed-in user and its `Scope` (401 / 403 otherwise); row scope
  always comes from the server-side user, never from callback inputs.
- Every page declares the roles that may open it (`dash.register_page(...,
  roles=(...))`); `check_pages` refuses to start with a page that does not and
  guards each page's layout too.
- `callback_allowed` tells whether a Dash callback's outputs (component ids
  carry the page's prefix) all belong to pages the role may open.

Sign-in, sign-out and the gate that runs before every request are in
`signin` (with `sessions`, `redirects`, `throttle` and `auth_pages`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import dash
import flask
from flask_login import UserMixin, current_user
from werkzeug.exceptions import Forbidden, Unauthorized

from control_tower.accounts import ROLES, Account, Scope

PUBLIC_PREFIXES = ("/assets/", "/_dash-component-suites/", "/_favicon.ico")
DATA_PREFIXES = ("/_dash-", "/_reload-hash", "/api/")
CALLBACK_PATH = "/_dash-update-component"
ROLE_LABELS = {
    "executive": "Executive",
    "warehouse_supervisor": "Warehouse supervisor",
    "planner": "Planner",
    "customer_service": "Customer service",
    "finance": "Finance",
    "admin": "Admin",
}


class PageWithoutRolesError(RuntimeError):
    """A registered page does not say which roles may open it."""


class WebUser(UserMixin):
    """The signed-in user of a request: account (role, scope) and the session it came with."""

    def __init__(self, account: Account, session_id: str | None) -> None:
        self.account = account
        self.session_id = session_id

    def get_id(self) -> str:
        """What Flask-Login keeps in the cookie: the random session id, never the user id."""
        return self.session_id or ""

    @property
    def name(self) -> str:
        """The user's name."""
        return self.account.name

    @property
    def role(self) -> str:
        """The user's role (one of ROLES)."""
        return self.account.role

    @property
    def scope(self) -> Scope:
        """The rows this user may see."""
        return self.account.scope

    @property
    def permissions(self) -> frozenset[str]:
        """What the user may do beyond their role (`control_tower.roles.PERMISSIONS`)."""
        return self.account.permissions


# --- authorisation --------------------------------------------------------------------------


def require(roles: Iterable[str] | None = None) -> WebUser:
    """The signed-in user if their role is among `roles` (None: any role); else 401 or 403.

    Call it first in every data callback, download and API view, and filter
    rows with the returned user's `scope`.
    """
    user = current_user
    if not getattr(user, "is_authenticated", False):
        raise Unauthorized("sign in first")
    if roles is not None and user.role not in set(roles):
        raise Forbidden("your role may not see this")
    return user  # type: ignore[return-value]


def current_web_user() -> WebUser | None:
    """The signed-in user of the current request, or None."""
    user = current_user
    return user if getattr(user, "is_authenticated", False) else None  # type: ignore[return-value]


def page_roles(page: dict[str, Any]) -> tuple[str, ...]:
    """The roles a registered page lets in."""
    return tuple(page.get("roles") or ())


def allowed_pages(role: str | None) -> list[dict[str, Any]]:
    """Registered pages a role may open, in registry order."""
    if role is None:
        return []
    return [p for p in dash.page_registry.values() if role in page_roles(p)]


def home_path(role: str | None) -> str | None:
    """Where `/` leads a role: the first page listed in the navigation it may open."""
    pages = [p for p in allowed_pages(role) if p.get("nav", True)]
    return pages[0]["relative_path"] if pages else None


def _page_prefix(page: dict[str, Any]) -> str:
    """Component ids of a page start with this (STYLE.md: ids prefixed with the page name)."""
    return page.get("id_prefix") or page["path"].strip("/").split("/")[0] + "-"


def page_for_path(path: str) -> dict[str, Any] | None:
    """The registered page a local path opens, or None."""
    for page in dash.page_registry.values():
        template = page.get("path_template")
        if template:
            parts = re.split(r"<[^>]+>", template)
            if re.fullmatch("[^/]+".join(re.escape(part) for part in parts) + "/?", path):
                return page
        elif path.rstrip("/") == page["path"].rstrip("/"):
            return page
    return None


def _output_ids(body: dict[str, Any]) -> list[str]:
    outputs = body.get("outputs")
    items = list(outputs) if isinstance(outputs, list) else [outputs]  # never the body itself
    ids: list[str] = []
    for item in items:
        if isinstance(item, list):  # pattern-matching ALL outputs
            items.extend(item)
            continue
        if not isinstance(item, dict):
            continue
        cid = item.get("id")
        if isinstance(cid, dict):
            ids.extend(str(v) for v in cid.values())
        elif cid is not None:
            ids.append(str(cid))
    return ids


def callback_allowed(role: str) -> bool:
    """Whether every output of the posted callback belongs to a page the role may open."""
    body = flask.request.get_json(silent=True)
    if not isinstance(body, dict):
        return True  # Dash answers a malformed request with its own error
    pages = list(dash.page_registry.values())
    for cid in _output_ids(body):
        for page in pages:
            if cid.startswith(_page_prefix(page)) and role not in page_roles(page):
                return False
    return True


def check_pages() -> None:
    """Refuse to start with a page that names no roles or unknown ones; guard every layout."""
    for page in dash.page_registry.values():
        roles = page_roles(page)
        if not roles:
            raise PageWithoutRolesError(
                f"page {page['module']} does not declare roles=(...) in dash.register_page"
            )
        unknown = set(roles) - set(ROLES)
        if unknown:
            raise PageWithoutRolesError(f"page {page['module']} names unknown roles {unknown}")
        _guard_layout(page)


def _guard_layout(page: dict[str, Any]) -> None:
    """Wrap a page's layout so that a role outside the page's roles gets a refusal instead."""
    layout = page.get("layout")
    if getattr(layout, "_ct_guarded", False):
        return
    roles = page_roles(page)

    def guarded(**kwargs: Any) -> Any:
        user = current_web_user()
        if user is None or user.role not in roles:
            return _refusal_layout()
        return layout(**kwargs) if callable(layout) else layout

    guarded._ct_guarded = True  # type: ignore[attr-defined]
    page["layout"] = guarded


def _refusal_layout() -> Any:
    from control_tower.web import components as ui

    return dash.html.Div(
        ui.empty_state(
            "This page is not part of your role",
            "Ask an administrator if you need it.",
            icon="⛔",
        ),
        id="page-forbidden",
    )
