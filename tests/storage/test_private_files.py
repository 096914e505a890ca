"""The data folder the product creates is its owner's only: folders 0700, databases 0600,
whatever the umask of the process that created them."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from control_tower.accounts import AccountStore
from control_tower.settings import load_settings, private_dir
from pipelines.run import run_pipeline
from tests.support.tiny_inbox import write_master, write_orders

# Files that hold data or secrets, by name (a pattern of `Path.match`).
PRIVATE_FILES = ("*.duckdb", "app.sqlite", "app.sqlite-*", ".secret_key", "writer.lock")


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The common default umask (group and others may read what is created)."""
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


@pytest.mark.usefixtures("loose_umask")
def test_a_new_data_folder_and_its_databases_are_owner_only(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    write_master(drop)
    write_orders(drop, 1, lines=3)
    home = tmp_path / "new" / "home"  # neither exists yet
    settings = load_settings(home).with_home(home)
    report = run_pipeline(settings, trigger="cli", inbox=drop)
    assert report.status == "ok", report.steps
    AccountStore.for_settings(settings).close()
    folders = [tmp_path / "new", *(p for p in home.rglob("*") if p.is_dir()), home]
    assert {"inbox", "archive", "serving"} <= {p.name for p in folders}
    assert {str(p.relative_to(tmp_path)): oct(mode(p)) for p in folders} == {
        str(p.relative_to(tmp_path)): oct(0o700) for p in folders
    }
    files = [p for p in home.rglob("*") if p.is_file() and any(p.match(n) for n in PRIVATE_FILES)]
    assert {"warehouse.duckdb", "app.sqlite", ".secret_key", "writer.lock"} <= {
        p.name for p in files
    }
    assert any(p.parent.name == "serving" for p in files)  # a published snapshot
    assert {p.name: oct(mode(p)) for p in files} == {p.name: oct(0o600) for p in files}


@pytest.mark.usefixtures("loose_umask")
def test_an_app_database_elsewhere_is_created_owner_only(tmp_path: Path) -> None:
    db = tmp_path / "db" / "accounts.sqlite"
    AccountStore.open(f"sqlite:///{db}").close()
    assert (oct(mode(db.parent)), oct(mode(db))) == (oct(0o700), oct(0o600))


def test_an_existing_folder_keeps_the_mode_its_owner_chose(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o750)
    private_dir(shared / "inbox" / "erp")
    assert oct(mode(shared)) == oct(0o750)
    assert {oct(mode(shared / "inbox")), oct(mode(shared / "inbox" / "erp"))} == {oct(0o700)}
