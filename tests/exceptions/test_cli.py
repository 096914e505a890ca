"""`control-tower exceptions list|act|show`: the JSON shape and clear errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from control_tower.cli import main
from tests.support.exception_cases import detect_at, items, settings
from tests.support.web_users import PASSWORD, cheap_accounts

TASK = "E1|2026-02|T2"
REQUIRED = {
    "id", "type", "key", "status", "severity", "owner_role", "assignee", "location_id",
    "created_at", "age_days", "sla_breached", "value_at_risk",
}  # fmt: skip


# Users of the app who act from the command line: ann plans (scoped to E1), bob runs the close.
ACTORS = {"ann": ("planner", ["E1"]), "bob": ("finance", []), "cy": ("finance", [])}


@pytest.fixture
def cli(home: Path):
    detect_at(home)
    with cheap_accounts(settings(home)) as accounts:
        for name, (role, entities) in ACTORS.items():
            accounts.create_user(name, role, PASSWORD, entities=entities)
        accounts.disable("cy")
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(main, ["--home", str(home), "exceptions", *args])
        return result.exit_code, result.output

    return run


def test_list_json_rows_carry_the_documented_fields(cli) -> None:
    code, out = cli("list", "--format", "json")
    assert code == 0, out
    rows = json.loads(out)
    assert len(rows) == 23  # 6 of them missed promises, 1 receipt discrepancy (P1|1 over)
    assert all(row.keys() >= REQUIRED for row in rows)
    task = next(r for r in rows if r["key"] == TASK)
    assert task["type"] == "overdue_close_task"
    assert task["created_at"] == "2026-03-12 10:00:00"
    assert task["sla_breached"] is True  # 24 h SLA, read at the real clock (later than 2026-03-13)
    assert isinstance(task["age_days"], int)


def test_list_filters_by_type_and_status(cli, home: Path) -> None:
    _, out = cli("list", "--type", "late_wave", "--format", "json")
    assert {r["key"] for r in json.loads(out)} == {"W1", "W3"}
    task = items(home, "overdue_close_task")[TASK]
    task_id = task.id
    code, out = cli(
        "act", str(task_id), "--action", "resolve", "--user", "bob", "--reason", "fixed",
        "--expect-version", str(task.version),
    )  # fmt: skip
    assert code == 0, out
    _, out = cli("list", "--status", "resolved", "--format", "json")
    assert [r["id"] for r in json.loads(out)] == [task_id]
    _, out = cli("list", "--format", "json")
    assert task_id not in {r["id"] for r in json.loads(out)}  # default: unresolved only


def test_list_csv_has_a_header_and_one_line_per_item(cli) -> None:
    _, out = cli("list", "--format", "csv", "--type", "backordered_line")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {r["key"] for r in rows} == {"O1|1", "O1|2"}


def test_act_prints_the_item_and_writes_the_audit(cli, home: Path) -> None:
    task = items(home, "overdue_close_task")[TASK]
    task_id, version = task.id, task.version
    code, out = cli(
        "act", str(task_id), "--action", "assign", "--user", "ann", "--assignee", "bob",
        "--expect-version", str(version),
    )  # fmt: skip
    assert code == 0, out
    assert json.loads(out)["assignee"] == "bob"
    code, out = cli(
        "act", str(task_id), "--action", "snooze", "--user", "bob", "--until", "2099-01-01",
        "--expect-version", str(json.loads(out)["version"]),
    )  # fmt: skip
    assert json.loads(out)["snoozed_until"] == "2099-01-01 00:00:00"
    _, out = cli("show", str(task_id))
    shown = json.loads(out)
    assert [a["action"] for a in shown["audit"]] == ["created", "assign", "snooze"]
    assert shown["detail"]["task_name"] == "Accruals"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("act", "999", "--action", "acknowledge", "--user", "bob"), "no exception with id 999"),
        (("act", "1", "--action", "escalate", "--user", "bob"), "'escalate' is not one of"),
        (("act", "1", "--action", "reopen", "--user", "bob"), "not resolved"),
        (("act", "1", "--action", "snooze", "--user", "bob", "--until", "soon"), "YYYY-MM-DD"),
        (("act", "1", "--action", "acknowledge", "--user", "mallory"), "'mallory' is not a user"),
        (("act", "1", "--action", "acknowledge", "--user", "cy"), "'cy' is disabled"),
    ],
)  # fmt: skip
def test_act_errors_are_clear(cli, args: tuple[str, ...], message: str) -> None:
    code, out = cli(*args, "--expect-version", "1")
    assert code != 0
    assert message in out


def test_act_needs_the_version_seen(cli, home: Path) -> None:
    task = items(home, "overdue_close_task")[TASK]
    code, out = cli("act", str(task.id), "--action", "acknowledge", "--user", "bob")
    assert code != 0
    assert "--expect-version" in out
    assert items(home, "overdue_close_task")[TASK].version == task.version
    code, out = cli(
        "act", str(task.id), "--action", "acknowledge", "--user", "bob", "--expect-version", "7"
    )
    assert code != 0
    assert f"your version 7, now {task.version}" in out


def test_act_is_done_with_the_users_role_and_scope(cli, home: Path) -> None:
    task = items(home, "overdue_close_task")[TASK]  # owned by finance, in entity E1
    resolve = ("act", str(task.id), "--action", "resolve", "--reason", "fixed")
    version = ("--expect-version", str(task.version))
    code, out = cli(*resolve, "--user", "ann", *version)
    assert code != 0
    assert "belongs to the finance role" in out
    assert items(home, "overdue_close_task")[TASK].status == "open"
    outside = next(i for i in items(home).values() if i.entity_id not in (None, "E1"))
    code, out = cli(
        "act", str(outside.id), "--action", "acknowledge", "--user", "ann",
        "--expect-version", str(outside.version),
    )  # fmt: skip
    assert code != 0
    assert f"no exception {outside.id} in your scope" in out
    code, out = cli(*resolve, "--user", "bob", *version)
    assert code == 0, out
    assert json.loads(out)["status"] == "resolved"
