"""`control-tower risk ...`: train, score and evaluate the stockout and late-order risk models.

`train` and `score` write (models under `<home>/models`, scores into the
warehouse), so they take the writer lock like `ingest`; `evaluate` backtests
on the published snapshot without storing anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import click
import duckdb

from control_tower.export import command_settings, emit_rows, format_option, json_text
from control_tower.export import console as output_console
from control_tower.risk.champion import ranked_by
from control_tower.risk.model import MODELS, InsufficientHistory
from control_tower.settings import Settings, utc_now
from control_tower.storage import NoSnapshotError, ServingStore, WriterBusyError, WriterLock
from control_tower.storage.schema import connect_writer

console = output_console()
TOP_COLUMNS = ("location_id", "item_id", "probability", "risk_value")
METRICS = ("roc_auc", "average_precision", "brier", "precision_at_events", "precision_at_k")


@contextmanager
def _writer(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    if not settings.warehouse_path.exists():
        raise click.ClickException(
            f"no warehouse at {settings.warehouse_path}; land data first with `control-tower ingest`"
        )
    lock = WriterLock.for_settings(settings, purpose="control-tower risk")
    try:
        lock.acquire()
    except WriterBusyError as exc:
        raise click.ClickException(str(exc)) from None
    from control_tower.risk.store import ModelFileError

    con = connect_writer(settings.warehouse_path, settings.duckdb)
    try:
        yield con
    except ModelFileError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        con.close()
        lock.release()


def _models(model: str) -> tuple[str, ...]:
    return MODELS if model == "all" else (model,)


METRIC_COLUMNS = (
    "model",
    "version",
    "test_window",
    "metric",
    "model_value",
    "baseline_value",
    "ranked_by",
)


def _metric_rows(cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per model and metric: the model's value beside the baseline's on the test window."""
    rows = []
    for card in cards:
        m = card["metrics"]
        window = f"{card['test_window']['start']} .. {card['test_window']['end']}"
        for name in METRICS:
            label = {
                "precision_at_k": f"precision@{m['model']['k']} per day",
                "precision_at_events": "R-precision per day",
            }.get(name, name)
            rows.append(
                {
                    "model": card["model"],
                    "version": card["version"],
                    "test_window": window,
                    "metric": label,
                    "model_value": m["model"].get(name),
                    "baseline_value": m["baseline"].get(name),
                    "ranked_by": ranked_by(card),
                }
            )
    return rows


_model_option = click.option(
    "--model", type=click.Choice([*MODELS, "all"]), default="all", show_default=True
)
_format_option = format_option()


def _backtest_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options of a command that backtests models: which, how often to step, output format."""
    command = click.pass_context(command)
    command = _format_option(command)
    command = click.option(
        "--every-days",
        type=click.IntRange(1, 28),
        default=None,
        help="days between training as-of days (default: 7 for stockouts, 1 for late orders)",
    )(command)
    return _model_option(command)


def _cards(model: str, verb: str, card: Callable[[str], dict[str, Any]]) -> list[dict[str, Any]]:
    """`card(name)` of each chosen model; a model short of history stops the command."""
    cards = []
    for name in _models(model):
        try:
            cards.append(card(name))
        except InsufficientHistory as exc:
            raise click.ClickException(f"cannot {verb} {name}: {exc}") from None
    return cards


@click.group("risk")
def risk_group() -> None:
    """Stockout and late-order risk models: train, score, evaluate, backtest."""


@risk_group.command("train")
@_backtest_options
def train_command(ctx: click.Context, model: str, every_days: int | None, fmt: str) -> None:
    """Backtest and store a new version of the models (metrics on weeks they never saw)."""
    from control_tower.risk.store import sync_models
    from control_tower.risk.training import train_model

    settings = command_settings(ctx)
    with _writer(settings) as con:
        cards = _cards(
            model,
            "train",
            lambda name: train_model(con, settings.models_dir, name, every_days=every_days),
        )
        sync_models(con, settings.models_dir)
    _print_cards(cards, fmt)


@risk_group.command("evaluate")
@_backtest_options
def evaluate_command(ctx: click.Context, model: str, every_days: int | None, fmt: str) -> None:
    """Backtest on the published snapshot and print model and baseline side by side (stores nothing)."""
    from control_tower.risk.training import backtest

    settings = command_settings(ctx)
    store = ServingStore(settings.serving_dir, settings.duckdb)
    try:
        with store.cursor() as cur:
            cards = _cards(
                model, "evaluate", lambda name: backtest(cur, name, every_days=every_days).card
            )
    except NoSnapshotError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()
    _print_cards(cards, fmt)


def _print_cards(cards: list[dict[str, Any]], fmt: str) -> None:
    """JSON: each model card; table and CSV: the metrics of model and baseline side by side."""
    if fmt == "json":
        keys = ("model", "version", "train_window", "calibration_window", "test_window", "rows")
        click.echo(
            json_text(
                [
                    {
                        **{k: c[k] for k in keys},
                        "algorithm": c.get("candidate"),
                        "metrics": c["metrics"],
                        "champion": c.get("champion"),
                    }
                    for c in cards
                ]
            )
        )
        return
    emit_rows(_metric_rows(cards), METRIC_COLUMNS, fmt, title="Test window: model vs baseline")
    if fmt == "table":
        for card in cards:
            champion = card.get("champion") or {}
            if champion.get("reason"):
                console.print(f"{card['model']}: {champion['reason']}")


BACKTEST_TABLE = (
    "model",
    "cutoff",
    "algorithm",
    "ranked_by",
    "rows",
    "events",
    "model_ap",
    "rule_ap",
    "model_auc",
    "rule_auc",
    "model_brier",
    "rule_brier",
    "note",
)


@risk_group.command("backtest")
@click.option(
    "--weeks",
    type=click.IntRange(1, 52),
    default=4,
    show_default=True,
    help="how many of the last weeks to replay",
)
@_model_option
@_format_option
@click.pass_context
def backtest_command(ctx: click.Context, weeks: int, model: str, fmt: str) -> None:
    """Replay the weekly retrain over the last N weeks, as it would have happened: per week,
    the model's and the rule's figures on the week that followed and which one ranked."""
    from control_tower.risk.rolling import COLUMNS, rolling_backtest

    settings = command_settings(ctx)
    store = ServingStore(settings.serving_dir, settings.duckdb)
    rows: list[dict[str, Any]] = []
    try:
        with store.cursor() as cur:
            for name in _models(model):
                try:
                    rows += [w.as_row() for w in rolling_backtest(cur, name, weeks=weeks)]
                except InsufficientHistory as exc:
                    raise click.ClickException(f"cannot backtest {name}: {exc}") from None
    except NoSnapshotError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()
    emit_rows(
        rows,
        COLUMNS,
        fmt,
        title=f"Weekly retrain replayed over the last {weeks} weeks: model vs rule on the week after",
        table_columns=BACKTEST_TABLE,
    )


@risk_group.command("score")
@click.option("--as-of", "as_of", default=None, help="evaluation day (YYYY-MM-DD; default today)")
@_format_option
@click.pass_context
def score_command(ctx: click.Context, as_of: str | None, fmt: str) -> None:
    """Score item-locations and open order lines with the stored models; write the risk tables.

    Prints a summary (table), the summary and ten riskiest item-locations (json), or those ten
    item-locations alone (csv).
    """
    from control_tower.risk.score import refresh_risk
    from control_tower.risk.store import ModelFileError, NoModelError, active_card

    settings = command_settings(ctx)
    try:
        day = date.fromisoformat(as_of) if as_of else utc_now().date()
    except ValueError:
        raise click.BadParameter(f"{as_of!r} is not a date in YYYY-MM-DD format") from None
    models_dir = settings.models_dir
    try:
        missing = [m for m in MODELS if active_card(models_dir, m) is None]
    except ModelFileError as exc:
        raise click.ClickException(str(exc)) from None
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
    top_rows = [dict(zip(TOP_COLUMNS, r, strict=True)) for r in top]
    if fmt == "json":
        click.echo(
            json_text(
                {
                    "as_of": day.isoformat(),
                    "scored": report.scored,
                    "versions": report.versions,
                    "not_scored": report.not_trained,
                    "top_stockout_risks": top_rows,
                }
            )
        )
    elif fmt == "csv":  # the listing part: the item-locations most at risk of a stockout
        emit_rows(top_rows, TOP_COLUMNS, fmt)
    else:
        console.print(report.summary())
        console.print(
            "The scores reach the app with the next published snapshot (the next pipeline run)."
        )
