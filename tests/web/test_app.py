"""The web app's wiring, without a browser: routes, assets, navigation, one store per app."""

from __future__ import annotations

import inspect
import runpy
from datetime import datetime
from pathlib import Path

import dash
import flask

from control_tower.exceptions.store import ExceptionItem
from control_tower.settings import Settings, load_settings
from control_tower.web import ASSETS_DIR, create_app
from control_tower.web.runtime import EXTENSION_KEY, WebContext
from tests.support.web_users import USERS, add_test_users, cheap_accounts, client_sign_in

REPO_ROOT = Path(__file__).resolve().parents[2]


def _admin_client(app):
    client = app.server.test_client()
    client_sign_in(client, USERS["admin"])
    return client


def _outputs(app) -> str:
    deps = _admin_client(app).get("/_dash-dependencies").get_json()
    return " ".join(d["output"] for d in deps)


class TestCreateApp:
    def test_root_leads_an_admin_to_the_first_page_of_the_navigation(
        self, empty_settings: Settings
    ):
        client = _admin_client(create_app(empty_settings, accounts=cheap_accounts(empty_settings)))
        response = client.get("/")
        assert response.status_code == 302
        assert response.headers["Location"].endswith("/executive")
        page = client.get("/data-health")
        assert page.status_code == 200
        assert b"<title>Control Tower</title>" in page.data

    def test_serves_the_stylesheet_from_the_repository_assets(self, empty_settings: Settings):
        assert REPO_ROOT / "assets" == ASSETS_DIR
        client = _admin_client(create_app(empty_settings, accounts=cheap_accounts(empty_settings)))
        assert b"control-tower.css" in client.get("/data-health").data
        css = client.get("/assets/control-tower.css")
        assert css.status_code == 200
        assert b"--ct-accent" in css.data

    def test_navigation_is_built_from_the_page_registry(self, empty_settings: Settings):
        app = create_app(empty_settings, accounts=cheap_accounts(empty_settings))
        layout = _admin_client(app).get("/_dash-layout").get_json()
        header = layout["props"]["children"][1]
        brand, nav, _user = header["props"]["children"]
        assert "Control Tower" in brand["props"]["children"]
        links = [(a["props"]["children"], a["props"]["href"]) for a in nav["props"]["children"]]
        registry = sorted(
            (p for p in dash.page_registry.values() if p.get("nav", True)),
            key=lambda p: p["order"],
        )
        assert links == [(p["name"], p["relative_path"]) for p in registry]
        assert [href for _name, href in links][-1] == "/data-health"

    def test_every_app_gets_the_page_callbacks(self, empty_settings: Settings):
        first, second = (
            create_app(empty_settings, accounts=cheap_accounts(empty_settings)) for _ in range(2)
        )
        for app in (first, second):
            assert "data-health-quarantine.getRowsResponse" in _outputs(app)
            assert "data-health-kpis.children" in _outputs(app)

    def test_every_page_callback_checks_the_role_on_the_server(self, empty_settings: Settings):
        app = create_app(empty_settings, accounts=cheap_accounts(empty_settings))
        _outputs(app)  # binds the pages' callbacks to this app
        page_callbacks = [
            spec["callback"]
            for output, spec in app.callback_map.items()
            if "data-health-" in output and "callback" in spec
        ]
        assert page_callbacks
        for fn in page_callbacks:
            source = inspect.getsource(inspect.unwrap(fn))
            assert "require(roles=" in source, f"{fn.__name__} does not call require()"

    def test_one_store_per_app_opened_only_when_asked(self, landed_settings: Settings):
        app = create_app(landed_settings)
        context = app.server.extensions[EXTENSION_KEY]
        assert isinstance(context, WebContext)
        assert context.store.serving_dir == landed_settings.serving_dir
        assert context.store._handle is None  # nothing read while building the app
        assert (
            create_app(landed_settings).server.extensions[EXTENSION_KEY].store is not context.store
        )

    def test_two_apps_with_different_data_folders_share_nothing(self, tmp_path: Path):
        apps, contexts = [], []
        for name in ("one", "two"):
            home = tmp_path / name
            settings = load_settings(home).with_home(home)
            add_test_users(settings)
            app = create_app(settings, accounts=cheap_accounts(settings))
            apps.append(app)
            contexts.append(app.server.extensions[EXTENSION_KEY])
        first, second = contexts
        try:
            with first.exceptions.session() as s:
                s.add(
                    ExceptionItem(
                        type="stale_source",
                        key="orders",
                        severity="high",
                        owner_role="admin",
                        sla_hours=24,
                        created_at=datetime(2026, 3, 1),
                        last_seen_at=datetime(2026, 3, 1),
                        detail={},
                    )
                )
            totals = [
                _admin_client(app).get("/api/v1/exceptions").get_json()["total"] for app in apps
            ]
            assert totals == [1, 0]
            assert first.exceptions is not second.exceptions
            assert first.exceptions.engine.url != second.exceptions.engine.url
            assert first.store is not second.store
            assert first.accounts is not second.accounts
            assert first.cache("grid", 4) is first.cache("grid", 4)
            assert first.cache("grid", 4) is not second.cache("grid", 4)
        finally:
            for context in contexts:
                context.close()


def test_app_module_exposes_a_wsgi_server(monkeypatch, tmp_path):
    monkeypatch.setenv("CONTROL_TOWER_HOME", str(tmp_path))
    namespace = runpy.run_path(str(REPO_ROOT / "app.py"), run_name="app")
    assert isinstance(namespace["server"], flask.Flask)
    assert namespace["server"].extensions[EXTENSION_KEY].settings.home == tmp_path.resolve()
