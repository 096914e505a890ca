"""A broken source mapping stops `ingest`, `scheduler` and `mappings` with one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from control_tower.cli import main

MAPPING = """
source: {files: {folder: acme, glob: "*.csv"}}
targets:
  - table: customers
    columns: {customer_id: cust_no, name: "NAME_EXPRESSION", segment: {value: retail},
              priority_tier: "CAST(tier AS DECIMAL(10, 2))", region: {value: US},
              updated_at: {value: "2026-01-01T00:00:00Z"}}
"""


def _home(tmp_path: Path, name_expression: str) -> Path:
    home = tmp_path / "home"
    (home / "mappings").mkdir(parents=True)
    (home / "mappings" / "acme.yml").write_text(MAPPING.replace("NAME_EXPRESSION", name_expression))
    (home / "sources.yml").write_text("enabled: [acme]\n")
    return home


@pytest.mark.parametrize("command", ["ingest", "mappings", "scheduler"])
@pytest.mark.parametrize(
    ("expression", "what"),
    [
        ("cust_name || (SELECT 1)", "a subquery (SELECT ...) is not allowed"),
        ("read_csv('/etc/passwd')", "the function READ_CSV() is not allowed"),
    ],
)
def test_an_invalid_expression_is_one_message_in_the_users_terms(
    tmp_path: Path, command: str, expression: str, what: str
) -> None:
    home = _home(tmp_path, expression)
    result = CliRunner().invoke(main, ["--home", str(home), command])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # no Python traceback
    out = " ".join(result.output.split())
    assert out.startswith("Error: source mapping ")
    assert str(home / "mappings" / "acme.yml") in out
    assert "key targets[0] (customers).columns.name" in out
    assert what in out
    assert "an expression may use column names" in out
    assert "for example: trim(cust_name)" in out
    assert "Traceback" not in out
    assert "Param" not in out  # no internal parser names
    assert len(result.output.strip().splitlines()) == 1


def test_a_decimal_with_precision_is_a_valid_cast(tmp_path: Path) -> None:
    home = _home(tmp_path, "trim(cust_name)")
    result = CliRunner().invoke(main, ["--home", str(home), "mappings"])
    assert result.exit_code == 0, result.output
    assert "ok  acme (files): customers" in result.output
