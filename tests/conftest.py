"""Fixtures shared by every test directory: the small demo, generated and landed once per session.

The whole suite runs on the product's clock set to DEMO_NOW (CONTROL_TOWER_NOW, set
here before anything reads it), so no test depends on the day it runs.

The landed demo is read-only: a test that changes data works on a private copy
(`tests.support.data_copies.private_copy`, or the copying fixtures of tests/risk and
tests/web). With pytest-xdist every worker builds its own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from control_tower.kpi.catalog import Catalog
from control_tower.settings import Settings
from control_tower.storage.serving import open_snapshot
from control_tower.views.kpi import cached_catalog
from control_tower.web import create_app
from tests.support import app_databases
from tests.support.clock import clock_setting
from tests.support.demo_data import DEMO_NOW, land_demo
from tests.support.postgres import postgres_server, server_binaries
from tests.support.web_users import cheap_accounts

os.environ["CONTROL_TOWER_NOW"] = clock_setting(DEMO_NOW)

# The Spark equality modules share one Spark session (one JVM, one registration of the lake):
# with pytest-xdist's loadscope they are one unit of work, so one worker runs them, and they
# are collected first, so that long unit starts early instead of leaving one worker busy at
# the end while the other idles.
SPARK_MODULES = ("tests/engines/test_kpi_equality.py", "tests/engines/test_rule_equality.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: not item.nodeid.startswith(SPARK_MODULES))


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getoption("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SparkTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if nodeid.startswith(SPARK_MODULES):
                return "spark-equality"
            return super()._split_scope(nodeid)

    return SparkTogether(config, log)


@pytest.fixture(scope="session", autouse=True)
def _app_database_server() -> Iterator[None]:
    """SQLite app databases, or PostgreSQL ones with CT_TEST_APP_DB (`support.app_databases`)."""
    request = app_databases.requested()
    if request is None:
        yield
        return
    with (
        app_databases.admin_url(request) as admin,
        app_databases.postgresql_app_databases(admin),
    ):
        yield


@pytest.fixture(scope="session")
def demo_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The small demo (seed 7, extract of DEMO_AS_OF) landed and published with every
    post-load step, and one user per role. Read only: the web, API and risk tests share it;
    a test that changes data works on a copy (`data_copies.private_copy`, risk's `home`)."""
    return land_demo(tmp_path_factory.mktemp("demo") / "home")


@pytest.fixture(scope="module")
def app(demo_settings: Settings) -> Any:
    """The web app over the small demo (not served), for Flask's test client."""
    return create_app(demo_settings, accounts=cheap_accounts(demo_settings))


@pytest.fixture(scope="module")
def snapshot(demo_settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the small demo's newest serving snapshot."""
    folder = demo_settings.serving_dir
    con = open_snapshot(folder / (folder / "CURRENT").read_text().strip())
    yield con
    con.close()


@pytest.fixture(scope="module")
def catalog(demo_settings: Settings) -> Catalog:
    """The small demo's KPI catalog."""
    return cached_catalog(demo_settings.kpi_definitions)


@pytest.fixture(scope="session")
def demo_home(demo_settings: Settings) -> Path:
    """The landed small demo's data folder (read only)."""
    return demo_settings.home


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """A private PostgreSQL server for the session (started on first use); its admin URL.

    Skipped where Debian's server is not installed, except under CI, where it fails instead."""
    bin_dir = server_binaries()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL server binaries are required under CI (apt: postgresql)")
        pytest.skip("PostgreSQL server binaries not found (apt-get install postgresql)")
    with postgres_server(bin_dir) as url:
        yield url
