"""A mapped value that is present but does not parse quarantines its row, with the source row.

Formats, casts and `parse_*` never turn text into an empty value: only a
placeholder listed in `missing:` does. The row is quarantined with the text,
the column, the expected format and the reason, its source line and the
source row as delivered (not the canonical columns), for file and SQL
mappings alike.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from control_tower.cli import main
from tests.support.extracts import batch_rows, fetch, land

CUSTOMERS = """
missing: ["", "N/A"]
rename:
  cust_no: "Cust #"
formats:
  changed: "%d/%b/%y"
targets:
  - table: customers
    dedupe: true
    columns:
      customer_id: cust_no
      name: cust_name
      segment: {value: retail}
      priority_tier: CAST(tier AS INT)
      region: {value: US}
      updated_at: changed
"""

ROWS = [
    # cust #, cust_name, tier, changed
    ("C1", "Acme", "1", "02/Jun/06"),  # good
    ("C2", "Beta", "2", "2-Jun-06"),  # the format does not match: quarantined, not NULL
    ("C3", "Gamma", "x", "03/Jun/06"),  # the cast fails: quarantined, the file still lands
    ("C4", "Delta", "3", "N/A"),  # a listed placeholder: missing (updated_at is required)
    ("C1", "Acme", "1", "31/Feb/06"),  # a repeat of C1 that does not parse: still reported
]


def _file_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    (home / "mappings").mkdir(parents=True)
    (home / "inbox" / "acme").mkdir(parents=True)
    source = 'source: {files: {folder: acme, glob: "*.csv"}}\n'
    (home / "mappings" / "acme.yml").write_text(source + CUSTOMERS)
    (home / "sources.yml").write_text("enabled: [acme]\n")
    lines = ["Cust #,Cust_Name,Tier,Changed", *(",".join(r) for r in ROWS)]
    (home / "inbox" / "acme" / "customers.csv").write_text("\n".join(lines) + "\n")
    return home


def _sql_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    (home / "mappings").mkdir(parents=True)
    db = tmp_path / "erp.sqlite"
    with sqlite3.connect(db) as src:
        src.execute(
            'CREATE TABLE cust (id INTEGER PRIMARY KEY, "cust #" TEXT, cust_name TEXT, '
            "tier TEXT, changed TEXT, write_date TEXT)"
        )
        src.executemany(
            "INSERT INTO cust VALUES (?, ?, ?, ?, ?, '2026-03-01')",
            [(i + 10, *r) for i, r in enumerate(ROWS)],
        )
    source = (
        f"source:\n  sql:\n    url: sqlite:///{db}\n"
        "    tables: {cust: {key: id, cursor: write_date}}\n"
    )
    text = source + CUSTOMERS.replace(
        "  - table: customers\n", "  - table: customers\n    from: cust\n"
    )
    (home / "mappings" / "acme.yml").write_text(text)
    (home / "sources.yml").write_text("enabled: [acme]\n")
    return home


@pytest.mark.parametrize(("kind", "lines"), [("files", (3, 4, 5, 6)), ("sql", (11, 12, 13, 14))])
def test_values_that_do_not_parse_quarantine_their_row_with_the_source_row(
    tmp_path: Path, kind: str, lines: tuple[int, ...]
) -> None:
    home = _file_home(tmp_path) if kind == "files" else _sql_home(tmp_path)
    report = land(home)
    assert [(b.table, b.status) for b in report.ingest.batches] == [("customers", "loaded")]
    assert fetch(home, "SELECT customer_id, priority_tier FROM customers") == [("C1", 1)]
    problems = fetch(
        home,
        "SELECT source_line, column_name, value, reason FROM ops.quarantine ORDER BY source_line",
    )
    assert [p[0] for p in problems] == list(lines)
    by_line = {p[0]: p[1:] for p in problems}
    column, value, reason = by_line[lines[0]]
    assert (column, value) == ("changed", "2-Jun-06")
    assert "'2-Jun-06' does not match the format '%d/%b/%y'" in reason
    assert "05/Mar/26" in reason  # what the format reads
    column, value, reason = by_line[lines[1]]
    assert (column, value) == ("tier", "x")
    assert "'x' cannot be read as INT (expected a whole number" in reason
    # A listed placeholder is missing: the contract refuses the required column, nothing more.
    assert by_line[lines[2]][:2] == ("updated_at", None)
    assert by_line[lines[3]][:2] == ("changed", "31/Feb/06")
    # The record is the source row as delivered, under its source column names.
    records = [json.loads(r[0]) for r in fetch(home, "SELECT record FROM ops.quarantine")]
    key = "Cust #" if kind == "files" else "cust #"
    assert {r[key] for r in records} == {"C2", "C3", "C4", "C1"}
    gamma = next(r for r in records if r[key] == "C3")
    assert {k.lower() for k in gamma} >= {"cust #", "cust_name", "tier", "changed"}
    assert "customer_id" not in gamma
    assert "priority_tier" not in gamma
    [batch] = batch_rows(home)
    assert batch["rows_quarantined"] == 4


def test_a_parse_inside_a_case_branch_is_checked_only_where_the_branch_is_taken(
    tmp_path: Path,
) -> None:
    home = _file_home(tmp_path)
    path = home / "mappings" / "acme.yml"
    path.write_text(
        path.read_text().replace(
            "CAST(tier AS INT)", "CASE WHEN tier = 'x' THEN 2 ELSE CAST(tier AS INT) END"
        )
    )
    land(home)
    assert fetch(home, "SELECT customer_id, priority_tier FROM customers ORDER BY 1") == [
        ("C1", 1),
        ("C3", 2),
    ]


def test_a_mapped_file_is_labelled_with_its_inbox_folder_and_its_mapping(tmp_path: Path) -> None:
    home = _file_home(tmp_path)
    result = CliRunner().invoke(main, ["--home", str(home), "ingest"])
    assert result.exit_code == 0, result.output
    label = "acme/customers.csv (mapping acme)"
    assert label in result.output
    assert "erp/customers.csv" not in result.output
    [batch] = batch_rows(home)
    assert (batch["file_name"], batch["table_name"]) == (label, "customers")
    assert {r[0] for r in fetch(home, "SELECT file_name FROM ops.quarantine")} == {label}
