"""Stored models: a joblib file and a JSON model card per version, mirrored to `risk.models`.

Models live in `<home>/models/` (`Settings.models_dir`, owner-only) as
`<version>.joblib` beside `<version>.json` (the card: training window,
features, metrics, date, version). The newest version of each model is the
active one. `sync_models` copies every card into the warehouse table
`risk.models`, so the app reads them from the snapshot.

A model file is code to Python's unpickler, so it is loaded only from the
models folder, by a version name the product writes (`<model>-<YYYYMMDDTHHMMSS>`,
`VERSION_PATTERN`), from a regular file (never a link) whose card carries that
same name; anything else is refused with `ModelFileError`, never loaded.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import joblib

from control_tower.risk.model import MODELS, SPECS, RiskModel
from control_tower.settings import private_dir, private_file

# The only names a stored model has: the model's kind and when it was trained.
VERSION_PATTERN = re.compile(rf"(?:{'|'.join(map(re.escape, MODELS))})-\d{{8}}T\d{{6}}")
VERSION_FORM = f"<model>-<YYYYMMDDTHHMMSS> with <model> one of {', '.join(MODELS)}"


class NoModelError(LookupError):
    """No trained model of a kind is stored yet."""


class ModelFileError(ValueError):
    """A name or file in the models folder that is not a stored model: never loaded."""


def check_version(version: Any) -> str:
    """`version` when it is a stored model's name; ModelFileError otherwise (a path, a
    name of another form)."""
    if not isinstance(version, str) or not VERSION_PATTERN.fullmatch(version):
        raise ModelFileError(
            f"{version!r} is not a model version ({VERSION_FORM}); models are loaded only "
            "from the models folder by their version, never by a path"
        )
    return version


def model_file(models_dir: Path, version: Any) -> Path:
    """The model file of `version` in `models_dir`, checked: a valid version name and a
    regular file (not a link) directly in the folder. Raises ModelFileError."""
    path = models_dir / f"{check_version(version)}.joblib"
    if path.is_symlink() or not path.is_file():
        raise ModelFileError(
            f"refusing to load {path}: a stored model is a regular file in the models folder "
            f"{models_dir} (it is {'a link' if path.is_symlink() else 'missing or not a file'})"
        )
    if path.resolve().parent != models_dir.resolve():
        raise ModelFileError(f"refusing to load {path}: it is outside the models folder")
    return path


def cards(models_dir: Path, model: str | None = None) -> list[dict[str, Any]]:
    """Every stored model card (of `model`, if given), oldest first.

    Only `<version>.json` files named like a model are cards; a card whose `version` is not
    its own file name raises ModelFileError (it would point the loader elsewhere).
    """
    if not models_dir.is_dir():
        return []
    out = []
    for path in sorted(models_dir.glob("*.json")):
        if not VERSION_PATTERN.fullmatch(path.stem):
            continue  # not a model card
        card = json.loads(path.read_text())
        if card.get("version") != path.stem:
            raise ModelFileError(
                f"model card {path} names version {card.get('version')!r}, not {path.stem!r}: "
                "a card describes the model file of its own name; remove or retrain it"
            )
        if (model is None or card.get("model") == model) and path.with_suffix(".joblib").exists():
            out.append(card)
    return sorted(out, key=lambda c: (c["trained_at"], c["version"]))


def active_card(models_dir: Path, model: str) -> dict[str, Any] | None:
    """The newest card of `model`, or None."""
    found = cards(models_dir, model)
    return found[-1] if found else None


def save_model(models_dir: Path, fitted: RiskModel, card: dict[str, Any]) -> Path:
    """Write the model and its card (the card last, so a half-written model is never active)."""
    private_dir(models_dir)
    path = models_dir / f"{check_version(card['version'])}.joblib"
    joblib.dump(fitted, path)
    private_file(path)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(card, indent=2, default=str))
    os.replace(private_file(tmp), path.with_suffix(".json"))
    return path


def load_model(models_dir: Path, model: str) -> tuple[RiskModel, dict[str, Any]]:
    """The active model of a kind and its card; raises NoModelError saying how to train one."""
    if model not in SPECS:
        raise ValueError(f"unknown risk model {model!r}; known: {', '.join(MODELS)}")
    card = active_card(models_dir, model)
    if card is None:
        raise NoModelError(
            f"no trained {model} model in {models_dir}; train one with `control-tower risk train`"
        )
    fitted = joblib.load(model_file(models_dir, card["version"]))
    return fitted, card


def sync_models(con: duckdb.DuckDBPyConnection, models_dir: Path) -> int:
    """Mirror every stored card into `risk.models` (the newest of each model active)."""
    rows = []
    for model in MODELS:
        found = cards(models_dir, model)
        for i, card in enumerate(found):
            rows.append(
                (
                    model,
                    card["version"],
                    datetime.fromisoformat(card["trained_at"]),
                    card["train_window"]["start"],
                    card["train_window"]["end"],
                    card["test_window"]["start"],
                    card["test_window"]["end"],
                    json.dumps(card["metrics"]),
                    json.dumps(card["features"]),
                    json.dumps(card, default=str),
                    i == len(found) - 1,
                )
            )
    con.execute("DELETE FROM risk.models")
    if rows:
        con.executemany("INSERT INTO risk.models VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)
