"""Line-aware YAML configuration files: every mistake names the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from control_tower.config_files import ConfigError, load_yaml


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yml"
    path.write_text(text)
    return path


def test_values_and_lines_are_read(tmp_path: Path) -> None:
    doc = load_yaml(_write(tmp_path, "rules:\n  - name: a\n    min_value: 10\n  - name: b\n"))
    assert doc is not None
    rules = doc.list_at("rules")
    assert [r.line for r in rules] == [2, 4]
    assert rules[0].required("name", str) == "a"
    assert rules[0].optional("min_value", float, 0.0) == 10.0
    assert rules[1].optional("min_value", float, 0.0) == 0.0


def test_a_wrong_type_names_the_line_of_its_value(tmp_path: Path) -> None:
    doc = load_yaml(_write(tmp_path, "rules:\n  - name: a\n    min_value: lots\n"))
    assert doc is not None
    with pytest.raises(ConfigError) as caught:
        doc.list_at("rules")[0].required("min_value", float)
    assert caught.value.line == 3
    assert (
        str(caught.value)
        == f"{tmp_path / 'rules.yml'}, line 3: 'min_value' must be a number, not 'lots'"
    )


def test_an_unknown_key_names_its_own_line(tmp_path: Path) -> None:
    doc = load_yaml(_write(tmp_path, "rules:\n  - name: a\n\n    colour: red\n"))
    assert doc is not None
    with pytest.raises(ConfigError, match=r"line 4: unknown key 'colour'; known keys: name"):
        doc.list_at("rules")[0].no_other_keys({"name"})


def test_a_missing_key_names_the_mapping_line(tmp_path: Path) -> None:
    doc = load_yaml(_write(tmp_path, "# head\nrules:\n  - min_value: 3\n"))
    assert doc is not None
    with pytest.raises(ConfigError, match=r"line 3: missing 'name'"):
        doc.list_at("rules")[0].required("name", str)


def test_a_choice_outside_the_list_is_refused(tmp_path: Path) -> None:
    doc = load_yaml(_write(tmp_path, "channel: pigeon\n"))
    assert doc is not None
    with pytest.raises(
        ConfigError, match=r"line 1: 'channel' is 'pigeon'; expected one of: email, webhook"
    ):
        doc.one_of("channel", ("email", "webhook"))


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_yaml(_write(tmp_path, "rules:\n  - name: a\n   bad: [\n"))
    assert caught.value.line is not None
    assert caught.value.line >= 3
    assert "not valid YAML" in str(caught.value)


def test_a_list_at_the_top_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"line 1: expected a mapping at the top"):
        load_yaml(_write(tmp_path, "- a\n- b\n"))


def test_an_empty_file_is_none_and_a_missing_one_refused(tmp_path: Path) -> None:
    assert load_yaml(_write(tmp_path, "# nothing yet\n")) is None
    with pytest.raises(ConfigError, match="file not found"):
        load_yaml(tmp_path / "absent.yml")


def test_a_bool_is_not_a_number(tmp_path: Path) -> None:
    doc = load_yaml(_write(tmp_path, "limit: true\n"))
    assert doc is not None
    with pytest.raises(ConfigError, match="'limit' must be a number, not True"):
        doc.required("limit", float)
