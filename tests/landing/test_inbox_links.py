"""The inbox lands only regular files inside it, and stored errors never quote file content.

A symbolic link (to a file or to a whole system folder) is rejected unread
and set aside with its reason. A rejected file's header or rows are never
echoed into `ops.batches` (which every role reaches through the data-problem
exceptions); the delivered text goes only to the `.reason.txt` beside the
file set aside.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from control_tower.landing import failure_reason
from tests.support.extracts import baseline_row, batch_rows, csv_bytes, fetch, land

SECRET = "root:x:0:0:TOPSECRET:/root:/bin/bash\n"


def _secret(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "passwd"
    secret.write_text(SECRET)
    return secret


def _stored(home: Path) -> str:
    return json.dumps(batch_rows(home), default=str)


def test_a_linked_file_is_rejected_unread_and_set_aside(tmp_path: Path) -> None:
    home = tmp_path / "home"
    secret = _secret(tmp_path)
    (home / "inbox" / "erp").mkdir(parents=True)
    link = home / "inbox" / "erp" / "customers.csv"
    link.symlink_to(secret)
    report = land(home)
    [batch] = report.ingest.batches
    assert (batch.status, batch.table) == ("rejected", "customers")
    assert "symbolic link" in (batch.error or "")
    assert "TOPSECRET" not in _stored(home)
    assert secret.read_text() == SECRET  # not moved, not changed
    assert not link.exists()
    assert not link.is_symlink()
    [moved] = (home / "quarantine" / "erp").rglob("*customers.csv")
    assert moved.is_symlink()  # the link itself was set aside, never its target
    assert "symbolic link" in moved.with_name(moved.name + ".reason.txt").read_text()


def test_a_linked_system_folder_is_not_followed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    secret = _secret(tmp_path)
    (home / "inbox").mkdir(parents=True)
    (secret.parent / "customers.csv").write_text(SECRET)
    (home / "inbox" / "erp").symlink_to(secret.parent, target_is_directory=True)
    report = land(home)
    assert [(b.status, b.file.name) for b in report.ingest.batches] == [("rejected", "erp")]
    assert "symbolic link" in (report.ingest.batches[0].error or "")
    assert (secret.parent / "customers.csv").read_text() == SECRET
    assert fetch(home, "SELECT count(*) FROM customers") == [(0,)]


def test_a_linked_file_of_a_source_mapping_is_rejected_unread(tmp_path: Path) -> None:
    home = tmp_path / "home"
    secret = _secret(tmp_path)
    (home / "mappings").mkdir(parents=True)
    (home / "inbox" / "acme").mkdir(parents=True)
    (home / "mappings" / "acme.yml").write_text(
        'source: {files: {folder: acme, glob: "*.csv"}}\n'
        "targets:\n  - table: customers\n    columns:\n      customer_id: a\n      name: a\n"
        "      segment: a\n      priority_tier: a\n      region: a\n      updated_at: a\n"
    )
    (home / "sources.yml").write_text("enabled: [acme]\n")
    (home / "inbox" / "acme" / "customers.csv").symlink_to(secret)
    report = land(home)
    [batch] = report.ingest.batches
    assert batch.status == "rejected"
    assert "symbolic link" in (batch.error or "")
    assert "TOPSECRET" not in _stored(home)
    assert secret.read_text() == SECRET


def test_a_rejected_files_content_stays_out_of_stored_errors(tmp_path: Path) -> None:
    home = tmp_path / "home"
    # No header: the first line is a customer's row. An extra column's name is content too.
    no_header = csv_bytes([baseline_row("customers", 0, name="Jane Secretname")])
    extra = (
        ",".join(["customer_id", "name", "segment", "priority_tier", "region", "updated_at"])
        + ",SSN 123-45-6789\n"
        + ",".join(baseline_row("customers", 1))
        + ",x\n"
    ).encode()
    land(home, {"erp/customers_a.csv": no_header, "erp/customers_b.csv": extra})
    stored = _stored(home)
    assert "Secretname" not in stored
    assert "123-45-6789" not in stored
    rejected, loaded = batch_rows(home)
    assert rejected["status"] == "rejected"
    assert "missing required column(s)" in rejected["error"]
    assert "no contract column" in rejected["error"]
    assert loaded["status"] == "loaded"
    assert "ignored 1 column(s)" in loaded["warnings"]
    assert "header position(s) 7" in loaded["warnings"]
    # Where only the operators look: the reason file beside the file set aside.
    [reason] = (home / "quarantine" / "erp").rglob("*.reason.txt")
    assert "Secretname" in reason.read_text()


def test_a_failed_batch_does_not_quote_the_value_duckdb_failed_on() -> None:
    con = duckdb.connect()
    with pytest.raises(duckdb.Error) as err:
        con.execute("SELECT CAST('Jane Secretname' AS INTEGER)")
    reason = failure_reason(err.value)
    assert reason.startswith("ConversionException: Conversion Error: Could not convert string")
    assert "Secretname" not in reason
