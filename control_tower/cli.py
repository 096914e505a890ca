"""The `control-tower` command line."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import click
from rich.table import Table as RichTable

from control_tower import __version__
from control_tower.accounts.cli import users as users_group
from control_tower.actions.cli import requests_group
from control_tower.actions.outbox_cli import outbox as outbox_group
from control_tower.engine_cli import engine_group
from control_tower.exceptions import cli as exceptions_cli
from control_tower.export import command_settings, emit_rows, format_option
from control_tower.export import console as output_console
from control_tower.kpi.cli import kpi_group
from control_tower.lake.cli import lake_group
from control_tower.mappings import MappingError, enabled_mappings
from control_tower.notifications.cli import notify_group
from control_tower.risk.cli import risk_group
from control_tower.storage import WriterBusyError
from control_tower.storage.cli import db_group
from control_tower.terminal import landing_progress, print_run_report

console = output_console()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    help="Data folder (default: $CONTROL_TOWER_HOME or ./data).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log what the pipeline does.")
@click.version_option(__version__, prog_name="control-tower")
@click.pass_context
def main(ctx: click.Context, home: Path | None, verbose: bool) -> None:
    """Operational control tower for distributors: land ERP, WMS and TMS extracts, watch KPIs."""
    ctx.ensure_object(dict)
    ctx.obj["home"] = home
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _parse_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date in YYYY-MM-DD format") from None


@main.command()
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write erp/, wms/ and tms/ extracts into (usable as an inbox).",
)
@click.option("--seed", default=7, show_default=True, type=int, help="Random seed.")
@click.option(
    "--scale",
    default="small",
    show_default=True,
    type=click.Choice(["small", "medium", "large"]),
    help="Data volume.",
)
@click.option(
    "--as-of",
    "as_of",
    callback=_parse_date,
    help="Day of the extract, taken at 10:00 UTC (default: the latest such day that has passed).",
)
def generate(out: Path, seed: int, scale: str, as_of: date | None) -> None:
    """Write believable demo extracts for a multi-entity, multi-warehouse distributor."""
    from control_tower.demo.generator import generate as run_generate

    with console.status(f"generating {scale} demo data (seed {seed})…") as status:
        report = run_generate(
            out,
            seed=seed,
            scale=scale,
            as_of=as_of,
            progress=lambda msg: status.update(f"generating: {msg}"),
        )
    table = RichTable(title=f"Demo extracts in {out} (as of {report.as_of}, seed {seed})")
    table.add_column("file")
    table.add_column("rows", justify="right")
    for path, rows in report.files:
        table.add_row(str(path.relative_to(out)), f"{rows:,}")
    console.print(table)
    console.print(
        f"{report.order_lines:,} order lines in {report.elapsed_seconds:.1f}s. "
        f"Land them with: control-tower ingest --inbox {out}"
    )


@main.command()
@click.option(
    "--inbox",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder with erp/, wms/, tms/ sub-folders (default: the data folder's inbox).",
)
@click.option(
    "--keep",
    is_flag=True,
    help="Leave landed files in place instead of moving them to the archive.",
)
@click.option(
    "--retry-failed-steps",
    is_flag=True,
    help="Run the post-load steps now, also those that failed and wait for their next try.",
)
@click.option(
    "--full-refresh",
    is_flag=True,
    help="Recompute every KPI value, exception and risk score, not only what new batches touched.",
)
@click.pass_context
def ingest(
    ctx: click.Context,
    inbox: Path | None,
    keep: bool,
    retry_failed_steps: bool,
    full_refresh: bool,
) -> None:
    """Land every extract in the inbox (one batch per file), then refresh and publish."""
    from pipelines.run import run_pipeline

    settings = command_settings(ctx)
    if inbox is not None and not inbox.is_dir():
        raise click.ClickException(f"inbox folder {inbox} does not exist")
    try:
        with landing_progress(console) as progress:
            report = run_pipeline(
                settings,
                trigger="cli",
                inbox=inbox,
                keep=keep,
                progress=progress,
                retry_failed_steps=retry_failed_steps,
                full_refresh=full_refresh,
            )
    except WriterBusyError as exc:
        raise click.ClickException(str(exc)) from None
    except MappingError as exc:
        raise mapping_problem(exc) from None
    print_run_report(console, report)


@main.command()
@click.option("--every", "every", type=float, help="Minutes between runs (default: settings).")
@click.pass_context
def scheduler(ctx: click.Context, every: float | None) -> None:
    """Run the pipeline on a schedule (the warehouse's only writer) until SIGTERM."""
    from pipelines.schedule import SchedulerService

    settings = command_settings(ctx)
    logging.getLogger().setLevel(logging.INFO)
    try:
        enabled_mappings(settings)  # a broken mapping stops the scheduler before it starts
    except MappingError as exc:
        raise mapping_problem(exc) from None
    try:
        SchedulerService(settings, "control-tower scheduler").serve(every_minutes=every)
    except WriterBusyError as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8050, show_default=True, type=int)
@click.option(
    "--scale",
    default="small",
    show_default=True,
    type=click.Choice(["small", "medium", "large"]),
    help="Demo data volume, when demo data must be generated.",
)
@click.option("--seed", default=7, show_default=True, type=int)
@click.pass_context
def demo(ctx: click.Context, host: str, port: int, scale: str, seed: int) -> None:
    """Generate demo data if there is none, land it, seed a user per role, serve with the scheduler."""
    from control_tower.demo.run import run_demo

    settings = command_settings(ctx)
    try:
        run_demo(settings, host=host, port=port, scale=scale, seed=seed, console=console)
    except WriterBusyError as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8050, show_default=True, type=int)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Server processes (default: $CONTROL_TOWER_WEB_WORKERS or the number of cores).",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    help="Request threads per process (default: $CONTROL_TOWER_WEB_THREADS or 4).",
)
@click.pass_context
def serve(
    ctx: click.Context, host: str, port: int, workers: int | None, threads: int | None
) -> None:
    """Serve the web app (reads the published snapshots; run the scheduler separately)."""
    from control_tower.accounts import AccountStore
    from control_tower.web import create_app, serve_app

    settings = command_settings(ctx)
    accounts = AccountStore.for_settings(settings)
    if not accounts.list_users():
        console.print(
            "[yellow]No users yet: nobody can sign in.[/] Add one with: "
            "control-tower users add NAME --role admin"
        )
    app = create_app(settings, accounts=accounts)
    workers = workers or settings.web_workers
    threads = threads or settings.web_threads
    console.print(
        f"Control tower on http://{host}:{port}/ (sign in at /login): "
        f"{workers} worker process{'es' if workers > 1 else ''} of {threads} threads"
    )
    serve_app(app, host=host, port=port, threads=threads, workers=workers)


def mapping_problem(exc: MappingError) -> click.ClickException:
    """A mapping error as one line for the terminal: the file, the key and what is wrong."""
    return click.ClickException(f"source mapping {exc.path}, key {exc.key}: {exc.reason}")


@main.command()
@click.pass_context
def mappings(ctx: click.Context) -> None:
    """Check the source mappings <home>/sources.yml enables, without landing anything."""
    settings = command_settings(ctx)
    try:
        found = enabled_mappings(settings)
    except MappingError as exc:
        raise mapping_problem(exc) from None
    if not found:
        console.print(
            f"No source mapping is enabled ({settings.sources_config} lists none).", markup=False
        )
    for mapping in found:
        tables = ", ".join(t.table for t in mapping.targets)
        console.print(
            f"ok  {mapping.name} ({mapping.kind}): {tables}  ({mapping.path})", markup=False
        )


QUARANTINE_COLUMNS = ("batch", "file", "line", "column", "value", "reason")


@main.command()
@click.option("--batch", "batch_id", type=int, help="Only this batch.")
@click.option("--limit", default=50, show_default=True, type=int)
@format_option()
@click.pass_context
def quarantine(ctx: click.Context, batch_id: int | None, limit: int, fmt: str) -> None:
    """Show quarantined rows with their file, line, column and reason."""
    from control_tower.storage import NoSnapshotError, ServingStore

    settings = command_settings(ctx)
    store = ServingStore(settings.serving_dir, settings.duckdb)
    try:
        with store.cursor() as cur:
            where, params = ("WHERE batch_id = ?", [batch_id]) if batch_id else ("", [])
            rows = cur.execute(
                f"SELECT batch_id, file_name, source_line, column_name, value, reason "
                f"FROM ops.quarantine {where} ORDER BY batch_id DESC, source_line LIMIT ?",
                [*params, limit],
            ).fetchall()
    except NoSnapshotError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()
    emit_rows(
        [dict(zip(QUARANTINE_COLUMNS, row, strict=True)) for row in rows],
        QUARANTINE_COLUMNS,
        fmt,
        title="Quarantined rows (newest batches first)",
        empty="No quarantined rows.",
    )


@main.command()
@click.argument("item")
@click.option("--location", required=True, help="The site to promise from (location id).")
@click.option("--qty", required=True, type=float, help="Quantity wanted, in --uom.")
@click.option("--date", "wanted", callback=_parse_date, help="Day wanted (default: soonest).")
@click.option("--uom", default="EA", show_default=True, type=click.Choice(["EA", "CS"]))
@click.option("--customer", help="The customer (sharpens the risk of the dates).")
@click.option("--horizon", default=60, show_default=True, type=int, help="Days projected.")
@click.option(
    "--format", "fmt", default="text", show_default=True, type=click.Choice(["text", "json"])
)
@click.pass_context
def atp(
    ctx: click.Context,
    item: str,
    location: str,
    qty: float,
    wanted: date | None,
    uom: str,
    customer: str | None,
    horizon: int,
    fmt: str,
) -> None:
    """Available to promise: when QTY of ITEM can be promised at a site, and where else earlier."""
    from control_tower.accounts import Scope
    from control_tower.export import json_text
    from control_tower.promising.answer import PromiseInputError, PromiseRequest, answer
    from control_tower.promising.text import answer_text
    from control_tower.risk.promise_risk import promise_risk
    from control_tower.storage import NoSnapshotError, ServingStore

    settings = command_settings(ctx)
    store = ServingStore(settings.serving_dir, settings.duckdb)
    request = PromiseRequest(item, location, qty, wanted, uom, customer)
    try:
        with store.cursor() as cur:
            risk = promise_risk(cur, settings.models_dir)
            (found,) = answer(cur, [request], scope=Scope(), horizon_days=horizon, risk=risk)
    except (NoSnapshotError, PromiseInputError) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()
    click.echo(json_text(found.to_json()) if fmt == "json" else answer_text(found))


main.add_command(kpi_group)


main.add_command(exceptions_cli.exceptions)

main.add_command(outbox_group)

main.add_command(users_group)

main.add_command(requests_group)

main.add_command(risk_group)

main.add_command(db_group)

main.add_command(lake_group)
main.add_command(engine_group)

main.add_command(notify_group)
