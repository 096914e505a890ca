"""Post-load steps: what runs after the inbox has landed, in this order.

Each step gets the open warehouse connection and the run's context, does
its work in its own transaction, and reports what it did. A failing step is
recorded on the run and does not stop the steps after it, nor the publish:
landed batches are committed and good, and every derived table carries its
own freshness.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

import duckdb

from control_tower.landing.ingest import IngestReport
from control_tower.ops.freshness import refresh_freshness
from control_tower.settings import Settings, utc_now
from control_tower.storage.changes import Changes


@dataclass
class StepContext:
    """What a post-load step may use."""

    settings: Settings
    con: duckdb.DuckDBPyConnection
    run_id: str
    ingest: IngestReport
    as_of: date = field(default_factory=lambda: utc_now().date())
    # What this step recomputes: everything, or what the run's batches touched (pipelines.refresh).
    changes: Changes = field(default_factory=lambda: Changes.full_refresh("requested"))


class PostLoadStep(Protocol):
    """A post-load step: returns a one-line summary of what it did."""

    def __call__(self, ctx: StepContext) -> str: ...


@dataclass(frozen=True)
class Step:
    """A named post-load step.

    `duckdb_memory_share`: the share of DuckDB's memory limit the step's queries get. A step
    whose own Python work holds large frames (the risk models' examples and fitting) gives
    DuckDB less, so that both together stay within the process's budget; lowering the limit
    also evicts the table blocks earlier steps left cached, so the step starts lean.
    """

    name: str
    run: Callable[[StepContext], str]
    description: str
    duckdb_memory_share: float = 1.0

    def __post_init__(self) -> None:
        if not 0 < self.duckdb_memory_share <= 1:
            raise ValueError(
                f"step {self.name!r}: duckdb_memory_share must be in (0, 1], "
                f"got {self.duckdb_memory_share}"
            )


# The risk step's share of DuckDB's memory limit (the rest is left to its Python frames).
RISK_DUCKDB_MEMORY_SHARE = 0.6


def _freshness(ctx: StepContext) -> str:
    rows = refresh_freshness(ctx.con)
    return f"freshness of {rows} source tables"


def _money(ctx: StepContext) -> str:
    from control_tower.money import refresh_money

    return refresh_money(ctx.con, ctx.settings.reporting_currency, ctx.as_of).summary()


def _risk(ctx: StepContext) -> str:
    from control_tower.risk.score import refresh_risk

    settings = ctx.settings
    return refresh_risk(
        ctx.con,
        settings.models_dir,
        as_of=ctx.as_of,
        retrain_days=settings.risk_retrain_days,
        changes=ctx.changes,
    ).summary()


def _actions(ctx: StepContext) -> str:
    from control_tower.actions.confirm import refresh_actions

    return refresh_actions(ctx.con, ctx.settings, as_of=ctx.as_of, now=utc_now()).summary()


def _exceptions(ctx: StepContext) -> str:
    from control_tower.exceptions.detect import refresh_exceptions
    from control_tower.lake.engine import engine_for, register_spark

    engine = engine_for(ctx.settings)
    before_detect = None
    if engine is not None and ctx.settings.lake_dir is not None:
        lake_dir = ctx.settings.lake_dir

        def before_detect() -> None:
            # The rules read this run's inputs (the re-promises just mirrored among them).
            _publish(ctx)
            register_spark(engine, lake_dir)

    report = refresh_exceptions(
        ctx.con,
        ctx.settings.app_db_url,
        as_of=ctx.as_of,
        changes=ctx.changes,
        engine=engine,
        before_detect=before_detect,
    )
    return report.summary() + (f" (on {engine.name})" if engine is not None else "")


def _publish(ctx: StepContext) -> str:
    lake_dir = ctx.settings.lake_dir
    if lake_dir is None:
        return "lake publishing off (set CONTROL_TOWER_LAKE_DIR)"
    from control_tower.lake.publish import publish_lake
    from control_tower.lake.tables import lake_tables

    tables = lake_tables(ctx.con, ctx.settings.kpi_definitions)
    return publish_lake(
        ctx.con, lake_dir, as_of=ctx.as_of, changes=ctx.changes, tables=tables
    ).summary()


def _lake(ctx: StepContext) -> str:
    return _publish(ctx)


def _kpis(ctx: StepContext) -> str:
    from control_tower.exceptions.store import ExceptionStore
    from control_tower.kpi.catalog import load_catalog
    from control_tower.kpi.governance import read_history
    from control_tower.kpi.materialize import refresh_kpis
    from control_tower.kpi.signoffs import read_signoffs

    # The installation's sign-offs count too: a version signed off in the app database
    # cannot change under the same number.
    with ExceptionStore.open(ctx.settings.app_db_url) as db:
        signoffs = read_signoffs(db)
    catalog = load_catalog(
        ctx.settings.kpi_definitions, history=read_history(ctx.con), signoffs=signoffs
    )
    from control_tower.lake.engine import engine_for

    # On Spark the lake step just published this run's inputs (the queue among them).
    engine = engine_for(ctx.settings)
    return refresh_kpis(
        ctx.con, as_of=ctx.as_of, catalog=catalog, changes=ctx.changes, engine=engine
    ).summary()


def _alerts(ctx: StepContext) -> str:
    from control_tower.exceptions.alerts import run_alerts

    return run_alerts(ctx.con, ctx.settings, as_of=ctx.as_of).summary()


def _escalation(ctx: StepContext) -> str:
    from control_tower.notifications.service import run_escalation

    return run_escalation(ctx.settings).summary()


# The one list of post-load steps, in execution order.
POST_LOAD_STEPS: list[Step] = [
    Step("freshness", _freshness, "newest batch and data time per source table, against its SLA"),
    # Before the risk scores, exceptions and KPIs, which convert amounts with this run's rates.
    Step(
        "money",
        _money,
        "entity currencies, rates of the day and month averages to the reporting currency, and "
        "the days without a rate",
    ),
    # Before the exceptions, whose stockout_risk rule reads this run's stockout scores.
    Step(
        "risk",
        _risk,
        "stockout and late-order risk scores with their drivers (a missing or stale model is "
        "trained first)",
        # examples and model fitting live in Python beside DuckDB: about a third of the budget
        duckdb_memory_share=RISK_DUCKDB_MEMORY_SHARE,
    ),
    # Before the exceptions, so that the items its confirmations close and the overdue requests
    # action_not_confirmed reads are this run's.
    Step(
        "actions",
        _actions,
        "action requests: the outbox delivered and retried, sent requests confirmed by the "
        "landed data or made overdue, and mirrored",
    ),
    # Before the KPIs, so that exception_aging reads this run's queue.
    Step(
        "exceptions",
        _exceptions,
        "every exception rule in DuckDB; the queue reconciled in the app database and mirrored",
    ),
    # After the exceptions (the queue is one of its tables), before the KPIs, so that a
    # reader of the lake gets the inputs this run's KPIs are computed from.
    Step(
        "lake",
        _lake,
        "the landed tables and the governed SQL's derived inputs published as a new version of "
        "the Parquet lake, only changed partitions written (docs/lake.md)",
    ),
    Step("kpis", _kpis, "every governed KPI by day, overall and by each allowed dimension"),
    Step("alerts", _alerts, "KPI alert rules: states, queue items and notifications"),
    # After the alerts, so that a KPI alert's item escalates like any other.
    Step(
        "escalation",
        _escalation,
        "items past their SLA escalated per escalation.yml (severity up, recipients told); KPI "
        "alerts told in the app to the users who follow them",
    ),
]
