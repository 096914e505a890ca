"""Mapping files are validated on load: every error names the file, the key and the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from control_tower.mappings.spec import FileSource, MappingError, SourceMapping, load_mapping

BASE = """
source: {files: {folder: acme, glob: "*.csv"}}
targets:
  - table: customers
    columns:
      customer_id: cust_no
      name: cust_name
      segment: {value: retail}
      priority_tier: {value: 2}
      region: {value: US}
      updated_at: {value: "2026-01-01T00:00:00Z"}
"""


def load(tmp_path: Path, text: str) -> SourceMapping:
    path = tmp_path / "acme.yml"
    path.write_text(text)
    return load_mapping(path)


@pytest.mark.parametrize(
    ("change", "key", "reason"),
    [
        (("source:", "sauce: 1\nsource:"), "(top level)", "unknown key(s) sauce"),
        (("table: customers", "table: clients"), "targets[0].table", "unknown canonical table"),
        (("name: cust_name", "nickname: cust_name"), "columns.nickname", "no column 'nickname'"),
        (("      name: cust_name\n", ""), "targets[0] (customers).columns", "missing required"),
        (
            ("cust_name", "read_csv('/etc/passwd')"),
            "columns.name",
            "the function READ_CSV() is not allowed",
        ),
        (("cust_name", "(SELECT 1)"), "columns.name", "a subquery (SELECT ...) is not allowed"),
        (("cust_name", "map_value(x, 'nope')"), "columns.name", "not in value_maps"),
    ],
)
def test_an_invalid_mapping_is_refused_with_file_key_and_reason(
    tmp_path: Path, change: tuple[str, str], key: str, reason: str
) -> None:
    with pytest.raises(MappingError) as err:
        load(tmp_path, BASE.replace(*change, 1))
    assert str(tmp_path / "acme.yml") in str(err.value)
    assert key in err.value.key
    assert reason in err.value.reason


def test_the_base_mapping_loads(tmp_path: Path) -> None:
    mapping = load(tmp_path, BASE)
    assert mapping.name == "acme"
    assert mapping.source == FileSource(folder="acme", glob="*.csv")
    assert [t.table for t in mapping.targets] == ["customers"]
    assert set(mapping.targets[0].columns) == {
        "customer_id",
        "name",
        "segment",
        "priority_tier",
        "region",
        "updated_at",
    }
