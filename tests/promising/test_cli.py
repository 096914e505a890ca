"""`control-tower atp` on the hand-drawn delivery (`tests.support.promise_case`)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from control_tower.cli import main


def run(home: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--home", str(home), "atp", *args])


def test_text_answer_alternatives_and_projection(promise_home: Path):
    result = run(promise_home, "I1", "--location", "L1", "--qty", "30", "--date", "2026-03-20")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == (
        "I1 at L1 (E1): 30 EA, wanted 2026-03-20 (as of 2026-03-18, horizon to 2026-05-17)"
    )
    assert lines[1] == "Promisable on 2026-03-25; 15 of it on 2026-03-20"
    assert lines[2].startswith("Risk of being late: - (no trained late_order model")
    assert "  L3           2026-03-20  risk -" in lines
    assert "  2026-03-19        20        40          65  +P2/1 -O4/1" in lines
    assert "  2026-03-28                  60          51  -O2/1" in lines


def test_json_answer_in_cases(promise_home: Path):
    result = run(promise_home, "I1", "--location", "L1", "--qty", "2", "--uom", "CS",
                 "--date", "2026-03-19", "--format", "json", "--horizon", "20")  # fmt: skip
    assert result.exit_code == 0, result.output
    j = json.loads(result.output)
    assert (j["qty"], j["date"], j["status"], j["partial_qty"]) == (
        24.0,
        "2026-03-25",
        "partial",
        15.0,
    )
    assert len(j["projection"]["days"]) == 21


def test_bad_input_is_named(promise_home: Path):
    result = run(promise_home, "NOPE", "--location", "L1", "--qty", "1")
    assert result.exit_code == 1
    assert "item='NOPE': no such item in the item master" in result.output
    result = run(promise_home, "I1", "--location", "L1", "--qty", "-1")
    assert "qty=-1.0: the quantity must be a positive number" in result.output
    result = run(promise_home, "I1", "--location", "L1", "--qty", "1", "--date", "20-03-2026")
    assert result.exit_code == 2
    assert "'20-03-2026' is not a date in YYYY-MM-DD format" in result.output
