"""`control-tower ingest`: exit codes and what it prints."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from control_tower.cli import main
from control_tower.settings import load_settings
from control_tower.storage import WriterLock
from tests.support.tiny_inbox import write_master, write_orders


def test_ingest_exits_zero_and_reports_quarantined_rows(tmp_path: Path) -> None:
    inbox = tmp_path / "drop"
    write_master(inbox)
    orders = write_orders(inbox, 1, lines=3)
    # One more line whose quantity is negative: quarantined, the other lines load.
    bad = (
        orders.read_text().splitlines()[1].replace("SO1-0,", "SO1-9,").replace(",1,EA,", ",-1,EA,")
    )
    orders.write_text(orders.read_text() + bad + "\n")
    (inbox / "erp" / "notes.csv").write_text("a,b\n1,2\n")
    result = CliRunner().invoke(
        main, ["--home", str(tmp_path / "home"), "ingest", "--inbox", str(inbox)]
    )
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "4 loaded" in out
    assert "1 rejected" in out  # notes.csv matches no table
    assert "1 quarantined" in out
    assert "does not start with an ERP table name" in out
    assert "Published snapshot-00000001.duckdb" in out


def test_ingest_refuses_while_another_writer_runs(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    settings.ensure_dirs()
    with WriterLock(settings.writer_lock_path, purpose="control-tower scheduler"):
        result = CliRunner().invoke(main, ["--home", str(tmp_path), "ingest"])
    assert result.exit_code != 0
    assert "already being written by control-tower scheduler" in result.output


def test_ingest_names_a_missing_inbox(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["--home", str(tmp_path), "ingest", "--inbox", str(tmp_path / "nope")]
    )
    assert result.exit_code != 0
    assert "does not exist" in result.output


def test_empty_inbox_says_so(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--home", str(tmp_path), "ingest"])
    assert result.exit_code == 0, result.output
    assert "inbox is empty" in " ".join(result.output.split())
