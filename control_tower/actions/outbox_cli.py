"""`control-tower outbox`: deliver approved action requests now, and list what waits.

`send` holds the writer lock while it delivers (the pipeline's actions step dispatches too, and
a delivery must never be made twice at once); `list` only reads the app database.
"""

from __future__ import annotations

import click

from control_tower.actions.outbox import ActionDeliveryRow, attention, dispatch
from control_tower.exceptions.store import ExceptionStore
from control_tower.export import command_settings, emit_rows, format_option
from control_tower.settings import utc_now
from control_tower.storage import WriterBusyError, WriterLock

LIST_COLUMNS: tuple[str, ...] = tuple(ActionDeliveryRow.__annotations__)


@click.group("outbox")
def outbox() -> None:
    """The action outbox: approved requests delivered as files and to the webhook."""


@outbox.command("send")
@click.pass_context
def send(ctx: click.Context) -> None:
    """Deliver every approved request not sent yet, and retry the deliveries that are due."""
    settings = command_settings(ctx)
    try:
        with (
            WriterLock.for_settings(settings, "control-tower outbox send"),
            ExceptionStore.open(settings.app_db_url) as store,
        ):
            report = dispatch(store, settings, now=utc_now())
    except WriterBusyError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(report.summary())


@outbox.command("list")
@format_option()
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1))
@click.pass_context
def list_deliveries(ctx: click.Context, fmt: str, limit: int) -> None:
    """Deliveries waiting for a retry or given up, newest first, with their last error."""
    with ExceptionStore.open(command_settings(ctx).app_db_url) as store:
        counts, rows = attention(store, limit)
    emit_rows(
        rows,
        LIST_COLUMNS,
        fmt,
        title=f"Action outbox: {counts['pending']} waiting, {counts['failed']} given up",
        empty="Nothing waits in the action outbox.",
    )
