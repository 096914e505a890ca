"""Every role against every page, callback and API route of the app (no browser).

Generic over the page registry and Dash's callback list, so a page added
later is covered without a new test: a role reaches exactly the pages that
name it, a callback whose outputs belong to a page a role may not open is
refused before it runs (also when a signed-in user forges the request), and
nothing at all is answered to a request without a session.
"""

from __future__ import annotations

import re

import dash
import pytest

from control_tower.accounts import ROLES
from control_tower.web.auth import page_roles
from tests.support.web_users import client_as


def _dependencies(app) -> list[dict]:
    return client_as(app, "admin").get("/_dash-dependencies").get_json()


def _output_ids(dep: dict) -> list[str]:
    """Component ids named in a callback's output string (`..a.b...c.d..` or `a.b`)."""
    output = dep["output"].strip(".")
    parts = re.split(r"\.\.\.", output)
    ids = []
    for part in parts:
        cid = part.rsplit(".", 1)[0]
        if cid.startswith("{"):
            continue  # pattern-matching ids: judged by their type in the gate
        ids.append(cid)
    return ids


def _prefix(page: dict) -> str:
    return page.get("id_prefix") or page["path"].strip("/").split("/")[0] + "-"


def _owner(cid: str) -> dict | None:
    """The page whose id prefix a component id carries (longest prefix wins)."""
    pages = [p for p in dash.page_registry.values() if cid.startswith(_prefix(p))]
    return max(pages, key=lambda p: len(_prefix(p)), default=None)


def _forged_body(dep: dict) -> dict:
    outputs = [
        {"id": cid, "property": prop}
        for cid, prop in (
            part.rsplit(".", 1) for part in re.split(r"\.\.\.", dep["output"].strip("."))
        )
    ]
    return {
        "output": dep["output"],
        "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": [
            {"id": i["id"], "property": i["property"], "value": None} for i in dep["inputs"]
        ],
        "state": [{"id": s["id"], "property": s["property"], "value": None} for s in dep["state"]],
        "changedPropIds": [],
    }


def _page_paths() -> list[tuple[str, tuple[str, ...]]]:
    paths = []
    for page in dash.page_registry.values():
        template = page.get("path_template")
        path = re.sub(r"<[^>]+>", "X1", template) if template else page["path"]
        paths.append((path, page_roles(page)))
    return paths


class TestPages:
    @pytest.mark.parametrize("role", ROLES)
    def test_navigation_lists_exactly_the_pages_of_the_role(self, app, role):
        layout = client_as(app, role).get("/_dash-layout").get_json()
        nav = layout["props"]["children"][1]["props"]["children"][1]
        links = {a["props"]["href"] for a in nav["props"]["children"]}
        expected = {
            p["relative_path"]
            for p in dash.page_registry.values()
            if role in page_roles(p) and p.get("nav", True)
        }
        assert links == expected
        assert links, f"{role} has no page"

    @pytest.mark.parametrize("role", ROLES)
    def test_root_leads_to_a_page_of_the_role(self, app, role):
        response = client_as(app, role).get("/")
        assert response.status_code == 302
        target = response.headers["Location"]
        page = next(p for p in dash.page_registry.values() if p["relative_path"] == target)
        assert role in page_roles(page)

    @pytest.mark.parametrize("role", ROLES)
    def test_pages_of_other_roles_answer_403(self, app, role):
        client = client_as(app, role)
        for path, roles in _page_paths():
            status = client.get(path).status_code
            if role in roles:
                assert status == 200, path
            else:
                assert status == 403, (role, path)


class TestForgedCallbacks:
    @pytest.mark.parametrize("role", ROLES)
    def test_callbacks_of_pages_a_role_may_not_open_are_refused(self, app, role):
        client = client_as(app, role)
        refused = 0
        for dep in _dependencies(app):
            owners = [_owner(cid) for cid in _output_ids(dep)]
            if not owners or any(o is None for o in owners):
                continue  # shell callbacks
            if all(role in page_roles(o) for o in owners):
                continue
            response = client.post("/_dash-update-component", json=_forged_body(dep))
            assert response.status_code == 403, (role, dep["output"])
            assert response.get_json() == {"error": "your role may not see this"}
            refused += 1
        if role != "admin":
            assert refused > 0, f"no callback outside {role}'s pages was tried"


class TestSignedOut:
    def test_every_callback_answers_401(self, app):
        client = client_as(app)
        deps = _dependencies(app)
        assert len(deps) > 5
        for dep in deps:
            response = client.post("/_dash-update-component", json=_forged_body(dep))
            assert response.status_code == 401, dep["output"]
            assert response.get_json() == {"error": "sign in first"}

    def test_every_page_redirects_to_the_login(self, app):
        client = client_as(app)
        for path, _roles in _page_paths():
            response = client.get(path)
            assert response.status_code == 302, path
            assert response.headers["Location"].startswith("/login?next=")

    def test_every_api_route_answers_401(self, app):
        client = client_as(app)
        rules = [r for r in app.server.url_map.iter_rules() if r.rule.startswith("/api/v1")]
        assert rules
        for rule in rules:
            path = re.sub(r"<[^>]+>", "X1", rule.rule)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                response = client.open(path, method=method, json={})
                assert response.status_code == 401, (method, path)
                assert response.get_json() == {"error": "sign in first"}
