"""Fixtures of the notification tests: an empty data folder with users and a few queue items."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from control_tower.exceptions.store import ExceptionStore
from control_tower.settings import Settings, load_settings
from tests.support.web_users import PASSWORD, cheap_accounts


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """An installation in an empty data folder, mail to a local server (tests set the port)."""
    return replace(load_settings(tmp_path / "home"), smtp_host="127.0.0.1")


@pytest.fixture
def users(settings: Settings) -> None:
    """pat and pia (planners: all sites, and DC-TX only), sam (supervisor of DC-NJ), eve."""
    with cheap_accounts(settings) as accounts:
        accounts.create_user("pat", "planner", PASSWORD)
        accounts.create_user("pia", "planner", PASSWORD, locations=["DC-TX"])
        accounts.create_user("sam", "warehouse_supervisor", PASSWORD, locations=["DC-NJ"])
        accounts.create_user("eve", "executive", PASSWORD)
        accounts.create_user("old", "planner", PASSWORD)
        accounts.disable("old")


@pytest.fixture
def store(settings: Settings, users: None) -> Iterator[ExceptionStore]:
    with ExceptionStore.open(settings.app_db_url) as opened:
        yield opened
