"""Stored models load only from the models folder, by a version name the product writes.

A model file is code to the unpickler: a card that names a path, a link out of the folder or a
card that names another file than its own is refused with a clear error and never loaded.
On a private copy of the small demo, whose pipeline run trained both models.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from control_tower.cli import main
from control_tower.risk.store import (
    ModelFileError,
    active_card,
    load_model,
    model_file,
    save_model,
)

LATER = "stockout-20991231T235959"  # a version newer than any trained one


def plant(models: Path, name: str, card: dict) -> None:
    """A card `<name>.json` beside a copy of the active stockout model as `<name>.joblib`."""
    source = models / f"{active_card(models, 'stockout')['version']}.joblib"
    shutil.copyfile(source, models / f"{name}.joblib")
    (models / f"{name}.json").write_text(json.dumps(card))


def newest(card: dict, version: str) -> dict:
    return {**card, "version": version, "trained_at": "2099-12-31T23:59:59"}


def test_the_trained_models_load_from_the_models_folder(home: Path) -> None:
    models = home / "models"
    _fitted, card = load_model(models, "stockout")
    assert card["version"].startswith("stockout-")
    assert model_file(models, card["version"]).parent == models
    assert stat.S_IMODE(os.stat(models).st_mode) & 0o077 == 0


@pytest.mark.parametrize(
    "version",
    [
        "../outside/stockout-20991231T235959",
        "/tmp/stockout-20991231T235959",
        "stockout-20991231T235959/../../outside/x",
        "evil",
    ],
)
def test_a_card_naming_a_path_is_refused(home: Path, version: str) -> None:
    models = home / "models"
    outside = home / "outside"
    outside.mkdir()
    card = active_card(models, "stockout")
    shutil.copyfile(models / f"{card['version']}.joblib", outside / f"{LATER}.joblib")
    plant(models, LATER, newest(card, version))
    with pytest.raises(ModelFileError, match="names version") as refused:
        load_model(models, "stockout")
    assert LATER in str(refused.value)
    with pytest.raises(ModelFileError, match="never by a path"):
        model_file(models, version)


def test_a_link_out_of_the_models_folder_is_refused(home: Path) -> None:
    models = home / "models"
    card = active_card(models, "stockout")
    elsewhere = home / "elsewhere.joblib"
    shutil.copyfile(models / f"{card['version']}.joblib", elsewhere)
    (models / f"{LATER}.joblib").symlink_to(elsewhere)
    (models / f"{LATER}.json").write_text(json.dumps(newest(card, LATER)))
    with pytest.raises(ModelFileError, match="a link"):
        load_model(models, "stockout")


def test_saving_refuses_a_version_that_is_not_a_name(home: Path) -> None:
    models = home / "models"
    fitted, card = load_model(models, "stockout")
    with pytest.raises(ModelFileError, match="not a model version"):
        save_model(models, fitted, {**card, "version": "../stockout-20991231T235959"})
    assert not (home / "stockout-20991231T235959.joblib").exists()


def test_the_command_line_says_why_instead_of_loading(home: Path) -> None:
    models = home / "models"
    card = active_card(models, "stockout")
    plant(models, LATER, newest(card, "/tmp/stockout-20991231T235959"))
    result = CliRunner().invoke(main, ["--home", str(home), "risk", "score"])
    assert result.exit_code != 0
    assert "names version '/tmp/stockout-20991231T235959'" in result.output
    assert "Traceback" not in result.output
