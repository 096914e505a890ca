"""`control-tower exceptions list|act|show`: the JSON shape and clear errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from control_tower.cli import main
from tests.support.exception_cases import detect_at, items

TASK = "E1|2026-02|T2"
REQUIRED = {
    "id", "type", "key", "status", "severity", "owner_role", "assignee", "location_id",
    "created_at", "age_days", "sla_breached", "value_at_risk",
}  # fmt: skip


@pytest.fixture
def cli(home: Path):
    detect_at(home)
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(main, ["--home", str(home), "exceptions", *args])
        return result.exit_code, result.output

    return run


def test_list_json_rows_carry_the_documented_fields(cli) -> None:
    code, out = cli("list", "--format", "json")
    assert code == 0, out
    rows = json.loads(out)
    assert len(rows) == 16
    assert all(row.keys() >= REQUIRED for row in rows)
    task = next(r for r in rows if r["key"] == TASK)
    assert task["type"] == "overdue_close_task"
    assert task["created_at"] == "2026-03-12 10:00:00"
    assert task["sla_breached"] is True  # 24 h SLA, read at the real clock (later than 2026-03-13)
    assert isinstance(task["age_days"], int)


def test_list_filters_by_type_and_status(cli, home: Path) -> None:
    _, out = cli("list", "--type", "late_wave", "--format", "json")
    assert {r["key"] for r in json.loads(out)} == {"W1", "W3"}
    task_id = items(home, "overdue_close_task")[TASK].id
    cli("act", str(task_id), "--action", "resolve", "--user", "bob", "--reason", "fixed")
    _, out = cli("list", "--status", "resolved", "--format", "json")
    assert [r["id"] for r in json.loads(out)] == [task_id]
    _, out = cli("list", "--format", "json")
    assert task_id not in {r["id"] for r in json.loads(out)}  # default: unresolved only


def test_list_csv_has_a_header_and_one_line_per_item(cli) -> None:
    _, out = cli("list", "--format", "csv", "--type", "backordered_line")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {r["key"] for r in rows} == {"O1|1", "O1|2"}


def test_act_prints_the_item_and_writes_the_audit(cli, home: Path) -> None:
    task_id = items(home, "overdue_close_task")[TASK].id
    code, out = cli("act", str(task_id), "--action", "assign", "--user", "ann", "--assignee", "bob")
    assert code == 0, out
    assert json.loads(out)["assignee"] == "bob"
    code, out = cli(
        "act", str(task_id), "--action", "snooze", "--user", "bob", "--until", "2099-01-01"
    )
    assert json.loads(out)["snoozed_until"] == "2099-01-01 00:00:00"
    _, out = cli("show", str(task_id))
    shown = json.loads(out)
    assert [a["action"] for a in shown["audit"]] == ["created", "assign", "snooze"]
    assert shown["detail"]["task_name"] == "Accruals"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("act", "999", "--action", "acknowledge", "--user", "ann"), "no exception with id 999"),
        (("act", "1", "--action", "escalate", "--user", "ann"), "'escalate' is not one of"),
        (("act", "1", "--action", "reopen", "--user", "ann"), "not resolved"),
        (("act", "1", "--action", "snooze", "--user", "ann", "--until", "soon"), "YYYY-MM-DD"),
        (("act", "1", "--action", "acknowledge", "--user", "ann", "--expect-version", "7"),
         "your version 7, now 1"),
    ],
)  # fmt: skip
def test_act_errors_are_clear(cli, args: tuple[str, ...], message: str) -> None:
    code, out = cli(*args)
    assert code != 0
    assert message in out
