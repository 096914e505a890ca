"""Every listing command prints a table, JSON or CSV; piped output is never cut."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from control_tower.accounts.store import AccountStore
from control_tower.cli import main
from control_tower.kpi.catalog import load_catalog
from control_tower.settings import load_settings
from tests.support.tiny_inbox import write_master, write_orders

NEGATIVE = "SO1-9,1,US01,C1,I1,DC-CHI,EDI,2026-03-01T10:00:00,-1,EA,3.00,2026-03-05,2026-03-05,open,2026-03-01T10:00:00\n"  # fmt: skip


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three order lines landed and one quarantined, and two users, one of them disabled."""
    root = tmp_path_factory.mktemp("listings")
    inbox = root / "drop"
    write_master(inbox)
    orders = write_orders(inbox, 1, lines=3)
    orders.write_text(orders.read_text() + NEGATIVE)
    home = root / "home"
    result = CliRunner().invoke(main, ["--home", str(home), "ingest", "--inbox", str(inbox)])
    assert result.exit_code == 0, result.output
    store = AccountStore.for_settings(load_settings(home))
    store.create_user("ann", "planner", "a long enough password", entities=["US01"])
    store.create_user("root", "admin", "a long enough password")
    store.disable("ann")
    store.close()
    return home


def run(home: Path, *args: str) -> Result:
    result = CliRunner().invoke(main, ["--home", str(home), *args])
    assert result.exit_code == 0, result.output
    return result


def as_json(home: Path, *args: str) -> list[dict]:
    return json.loads(run(home, *args, "--format", "json").output)


def as_csv(home: Path, *args: str) -> tuple[list[str], list[dict]]:
    reader = csv.DictReader(io.StringIO(run(home, *args, "--format", "csv").output))
    return list(reader.fieldnames or []), list(reader)


def test_kpi_list_in_every_format(home: Path) -> None:
    catalog = load_catalog()
    rows = as_json(home, "kpi", "list")
    assert [r["name"] for r in rows] == sorted(catalog.kpis)
    fill = next(r for r in rows if r["name"] == "line_fill_rate")
    assert fill["status"] == "certified"
    assert fill["version"] == 1
    assert fill["signed_off_by"] == "control-tower maintainers"  # the shipped sign-off log
    assert fill["file"] == str(catalog.kpi("line_fill_rate").path)
    assert fill["since"] is not None  # the landing recorded every version
    header, lines = as_csv(home, "kpi", "list")
    assert header == [
        "name",
        "label",
        "status",
        "version",
        "signed_off_by",
        "signed_off_at",
        "owner",
        "type",
        "model",
        "since",
        "file",
    ]
    assert [r["name"] for r in lines] == [r["name"] for r in rows]


def test_kpi_list_table_keeps_whole_values_when_piped(home: Path) -> None:
    """`control-tower kpi list | grep certified` finds every certified KPI, with its whole label."""
    output = run(home, "kpi", "list").output
    certified = [line for line in output.splitlines() if "certified" in line]
    expected = [k for k in load_catalog().kpis.values() if k.status == "certified"]
    assert len(certified) == len(expected)
    for kpi in expected:
        assert any(kpi.label in line and kpi.name in line for line in certified), kpi.name
    assert max(len(line) for line in certified) > 80


def test_quarantine_in_every_format(home: Path) -> None:
    (row,) = as_json(home, "quarantine")
    assert set(row) == {"batch", "file", "line", "column", "value", "reason"}
    assert (row["file"], row["column"], row["value"]) == ("sales_order_lines_0001.csv", "ordered_qty", "-1")  # fmt: skip
    header, (line,) = as_csv(home, "quarantine")
    assert header == ["batch", "file", "line", "column", "value", "reason"]
    assert line["reason"] == row["reason"]
    table = run(home, "quarantine").output
    assert row["reason"] in table  # on one line, not folded


def test_users_list_in_every_format(home: Path) -> None:
    rows = {r["name"]: r for r in as_json(home, "users", "list")}
    assert set(rows) == {"ann", "root"}
    assert set(rows["ann"]) == {
        "name",
        "role",
        "scope",
        "permissions",
        "state",
        "last_sign_in",
        "created",
    }
    assert (rows["ann"]["role"], rows["ann"]["state"]) == ("planner", "disabled")
    assert rows["root"]["last_sign_in"] is None
    header, lines = as_csv(home, "users", "list")
    assert header == ["name", "role", "scope", "permissions", "state", "last_sign_in", "created"]
    assert {r["name"]: r["scope"] for r in lines} == {n: r["scope"] for n, r in rows.items()}


def test_an_empty_listing_is_an_empty_list_or_a_header(tmp_path: Path) -> None:
    assert as_json(tmp_path, "users", "list") == []
    assert as_csv(tmp_path, "users", "list") == (
        ["name", "role", "scope", "permissions", "state", "last_sign_in", "created"],
        [],
    )
    assert "users add NAME --role admin" in run(tmp_path, "users", "list").output


def test_kpi_list_shows_an_own_kpi_and_names_both_files_of_a_clash(
    home: Path, tmp_path: Path
) -> None:
    own = tmp_path / "home"
    shutil.copytree(home, own)
    folder = own / "kpi_definitions"
    folder.mkdir()
    shipped = load_catalog().kpi("line_fill_rate").path
    text = shipped.read_text().replace("status: certified", "status: draft")
    (folder / "fill_ours.yml").write_text(text.replace("name: line_fill_rate", "name: fill_ours"))
    listed = {r["name"]: r for r in as_json(own, "kpi", "list")}
    assert listed["fill_ours"]["file"] == str(folder / "fill_ours.yml")
    assert listed["fill_ours"]["status"] == "draft"
    (folder / "line_fill_rate.yml").write_text(text)
    result = CliRunner().invoke(main, ["--home", str(own), "kpi", "list"])
    assert result.exit_code == 1
    assert f"{folder / 'line_fill_rate.yml'} has the same name as {shipped}" in result.output


def test_kpi_list_before_anything_is_landed(tmp_path: Path) -> None:
    rows = as_json(tmp_path, "kpi", "list")
    assert [r["name"] for r in rows] == sorted(load_catalog().kpis)
    assert all(r["since"] is None for r in rows)
    assert "not yet recorded" in run(tmp_path, "kpi", "list").output
