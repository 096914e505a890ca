"""`control-tower risk ...`: train, score and evaluate the stockout and late-order risk models.

`train` and `score` write (models under `<home>/models`, scores into the
warehouse), so they take the writer lock like `ingest`; `evaluate` backtests
on the published snapshot without storing anything.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import click
import duckdb
from rich.console import Console
from rich.table import Table as RichTable

from control_tower.risk.model import MODELS, InsufficientHistory
from control_tower.settings import Settings, SettingsError, load_settings, utc_now
from control_tower.storage import NoSnapshotError, ServingStore, WriterBusyError, WriterLock
from control_tower.storage.schema import connect_writer

console = Console()
METRICS = ("roc_auc", "average_precision", "brier", "precision_at_events", "precision_at_k")


def _settings(ctx: click.Context) -> Settings:
    try:
        return load_settings((ctx.find_root().obj or {}).get("home"))
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


@contextmanager
def _writer(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    if not settings.warehouse_path.exists():
        raise click.ClickException(
            f"no warehouse at {settings.warehouse_path}; land data first with `control-tower ingest`"
        )
    lock = WriterLock(settings.writer_lock_path, purpose="control-tower risk")
    try:
        lock.acquire()
    except WriterBusyError as exc:
        raise click.ClickException(str(exc)) from None
    con = connect_writer(settings.warehouse_path)
    try:
        yield con
    finally:
        con.close()
        lock.release()


def _models(model: str) -> tuple[str, ...]:
    return MODELS if model == "all" else (model,)


def _side_by_side(cards: list[dict[str, Any]]) -> RichTable:
    table = RichTable(title="Test window: model vs baseline")
    for col in ("model", "version", "test window", "metric", "model", "baseline"):
        table.add_column(col)
    for card in cards:
        m = card["metrics"]
        window = f"{card['test_window']['start']} .. {card['test_window']['end']}"
        for i, name in enumerate(METRICS):
            label = {
                "precision_at_k": f"precision@{m['model']['k']} per day",
                "precision_at_events": "R-precision per day",
            }.get(name, name)
            table.add_row(
                card["model"] if i == 0 else "",
                card["version"] if i == 0 else "",
                window if i == 0 else "",
                label,
                str(m["model"].get(name)),
                str(m["baseline"].get(name)),
            )
    return table


_model_option = click.option(
    "--model", type=click.Choice([*MODELS, "all"]), default="all", show_default=True
)
_format_option = click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)


@click.group("risk")
def risk_group() -> None:
    """Stockout and late-order risk models: train, score, evaluate."""


@risk_group.command("train")
@_model_option
@click.option("--every-days", type=click.IntRange(1, 28), default=7, show_default=True)
@_format_option
@click.pass_context
def train_command(ctx: click.Context, model: str, every_days: int, fmt: str) -> None:
    """Backtest and store a new version of the models (metrics on weeks they never saw)."""
    from control_tower.risk.store import sync_models
    from control_tower.risk.training import train_model

    settings = _settings(ctx)
    cards = []
    with _writer(settings) as con:
        for name in _models(model):
            try:
                cards.append(
                    train_model(con, settings.home / "models", name, every_days=every_days)
                )
            except InsufficientHistory as exc:
                raise click.ClickException(f"cannot train {name}: {exc}") from None
        sync_models(con, settings.home / "models")
    _print_cards(cards, fmt)


@risk_group.command("evaluate")
@_model_option
@click.option("--every-days", type=click.IntRange(1, 28), default=7, show_default=True)
@_format_option
@click.pass_context
def evaluate_command(ctx: click.Context, model: str, every_days: int, fmt: str) -> None:
    """Backtest on the published snapshot and print model and baseline side by side (stores nothing)."""
    from control_tower.risk.training import backtest

    settings = _settings(ctx)
    store = ServingStore(settings.serving_dir)
    cards = []
    try:
        with store.cursor() as cur:
            for name in _models(model):
                try:
                    cards.append(backtest(cur, name, every_days=every_days).card)
                except InsufficientHistory as exc:
                    raise click.ClickException(f"cannot evaluate {name}: {exc}") from None
    except NoSnapshotError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()
    _print_cards(cards, fmt)


def _print_cards(cards: list[dict[str, Any]], fmt: str) -> None:
    if fmt == "json":
        keys = ("model", "version", "train_window", "calibration_window", "test_window", "rows")
        out = [{**{k: c[k] for k in keys}, "metrics": c["metrics"]} for c in cards]
        click.echo(json.dumps(out, indent=2, default=str))
    else:
        console.print(_side_by_side(cards))


@risk_group.command("score")
@click.option("--as-of", "as_of", default=None, help="evaluation day (YYYY-MM-DD; default today)")
@_format_option
@click.pass_context
def score_command(ctx: click.Context, as_of: str | None, fmt: str) -> None:
    """Score item-locations and open order lines with the stored models; write the risk tables."""
    from control_tower.risk.score import refresh_risk
    from control_tower.risk.store import NoModelError, active_card

    settings = _settings(ctx)
    try:
        day = date.fromisoformat(as_of) if as_of else utc_now().date()
    except ValueError:
        raise click.BadParameter(f"{as_of!r} is not a date in YYYY-MM-DD format") from None
    models_dir = settings.home / "models"
    missing = [m for m in MODELS if active_card(models_dir, m) is None]
    if len(missing) == len(MODELS):
        raise click.ClickException(
            str(
                NoModelError(
                    f"no trained risk model in {models_dir}; train them with "
                    "`control-tower risk train`"
                )
            )
        )
    with _writer(settings) as con:
        report = refresh_risk(con, models_dir, as_of=day, train_if_missing=False)
        top = con.execute(
            "SELECT location_id, item_id, probability, risk_value FROM risk.stockout_scores "
            "ORDER BY risk_value DESC NULLS LAST LIMIT 10"
        ).fetchall()
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "as_of": day.isoformat(),
                    "scored": report.scored,
                    "versions": report.versions,
                    "not_scored": report.not_trained,
                    "top_stockout_risks": [
                        {
                            "location_id": r[0],
                            "item_id": r[1],
                            "probability": r[2],
                            "risk_value": r[3],
                        }
                        for r in top
                    ],
                },
                indent=2,
            )
        )
    else:
        console.print(report.summary())
        console.print(
            "The scores reach the app with the next published snapshot (the next pipeline run)."
        )
