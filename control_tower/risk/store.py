"""Stored models: a joblib file and a JSON model card per version, mirrored to `risk.models`.

Models live in `<home>/models/` as `<version>.joblib` beside `<version>.json`
(the card: training window, features, metrics, date, version). The newest
version of each model is the active one. `sync_models` copies every card into
the warehouse table `risk.models`, so the app reads them from the snapshot.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import joblib

from control_tower.risk.model import MODELS, SPECS, FittedModel


class NoModelError(LookupError):
    """No trained model of a kind is stored yet."""


def cards(models_dir: Path, model: str | None = None) -> list[dict[str, Any]]:
    """Every stored model card (of `model`, if given), oldest first."""
    if not models_dir.is_dir():
        return []
    out = []
    for path in sorted(models_dir.glob("*.json")):
        card = json.loads(path.read_text())
        if (model is None or card.get("model") == model) and path.with_suffix(".joblib").exists():
            out.append(card)
    return sorted(out, key=lambda c: (c["trained_at"], c["version"]))


def active_card(models_dir: Path, model: str) -> dict[str, Any] | None:
    """The newest card of `model`, or None."""
    found = cards(models_dir, model)
    return found[-1] if found else None


def save_model(models_dir: Path, fitted: FittedModel, card: dict[str, Any]) -> Path:
    """Write the model and its card (the card last, so a half-written model is never active)."""
    models_dir.mkdir(parents=True, exist_ok=True)
    path = models_dir / f"{card['version']}.joblib"
    joblib.dump(fitted, path)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(card, indent=2, default=str))
    os.replace(tmp, path.with_suffix(".json"))
    return path


def load_model(models_dir: Path, model: str) -> tuple[FittedModel, dict[str, Any]]:
    """The active model of a kind and its card; raises NoModelError saying how to train one."""
    if model not in SPECS:
        raise ValueError(f"unknown risk model {model!r}; known: {', '.join(MODELS)}")
    card = active_card(models_dir, model)
    if card is None:
        raise NoModelError(
            f"no trained {model} model in {models_dir}; train one with `control-tower risk train`"
        )
    fitted = joblib.load(models_dir / f"{card['version']}.joblib")
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
