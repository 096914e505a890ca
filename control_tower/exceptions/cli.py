"""`control-tower exceptions`: list the exception queue and act on its items.

Reads and writes the app database (the system of record of the workflow),
not the warehouse: an action shows in `list` at once, and in the warehouse
mirror after the next pipeline run. `act` acts as a user of the app (`--user`
names an active account), with that user's role and scope and at the version
they saw, under the same rules as every screen and the API.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import click

from control_tower.accounts import Account, AccountStore
from control_tower.exceptions.actions import act_in_scope
from control_tower.exceptions.aging import item_aging
from control_tower.exceptions.registry import EXCEPTION_TYPES, type_names
from control_tower.exceptions.store import (
    ITEM_CORE_COLUMNS,
    STATUSES,
    ExceptionItem,
    ExceptionStore,
)
from control_tower.exceptions.workflow import ACTIONS, RESOLUTION_CODES, WorkflowError
from control_tower.export import command_settings, emit_rows, format_option
from control_tower.settings import utc_now

LIST_COLUMNS: tuple[str, ...] = (
    "id",
    "type",
    *ITEM_CORE_COLUMNS,
    "item_id",
    "created_at",
    "last_seen_at",
    "times_seen",
    "last_action_at",
    "snoozed_until",
    "resolved_at",
    "resolution_code",
    "age_days",
    "days_since_last_action",
    "age_bucket",
    "sla_hours",
    "sla_due_at",
    "sla_breached",
    "value_at_risk",
    "version",
)
# What the table shows of an item; JSON and CSV carry every column.
TABLE_COLUMNS: tuple[str, ...] = ("id", "type", "key", "status", "severity", "owner_role",
                                  "assignee", "location_id", "age_days", "sla_breached",
                                  "value_at_risk")  # fmt: skip


def item_row(item: ExceptionItem, now: datetime) -> dict[str, Any]:
    """One item as a flat dict of JSON-ready values, with its aging at `now` (naive UTC)."""
    a = item_aging(item, now)
    values: dict[str, Any] = {
        **{c: getattr(item, c) for c in LIST_COLUMNS if hasattr(item, c)},
        "age_days": a.age_days,
        "days_since_last_action": a.days_since_last_action,
        "age_bucket": a.bucket,
        "sla_due_at": a.sla_due_at,
        "sla_breached": a.sla_breached,
    }
    return {
        c: values[c].isoformat(sep=" ") if isinstance(values[c], datetime) else values[c]
        for c in LIST_COLUMNS
    }


def _store(ctx: click.Context) -> ExceptionStore:
    return ExceptionStore.open(command_settings(ctx).app_db_url)


def _now() -> datetime:
    return utc_now()


@click.group("exceptions")
def exceptions() -> None:
    """The exception queues: list items and work them (assign, acknowledge, snooze, resolve)."""


@exceptions.command("list")
@click.option("--type", "type_", type=click.Choice(type_names()), help="Only this type.")
@click.option(
    "--status",
    default="unresolved",
    show_default=True,
    type=click.Choice([*STATUSES, "unresolved", "all"]),
    help="Only items in this status.",
)
@format_option()
@click.option("--limit", type=click.IntRange(min=1), help="At most this many items, newest first.")
@click.pass_context
def list_items(
    ctx: click.Context, type_: str | None, status: str, fmt: str, limit: int | None
) -> None:
    """List exception items, newest first, with their age and SLA state."""
    now = _now()
    with _store(ctx) as store:
        rows = [item_row(i, now) for i in store.items(type=type_, status=status, limit=limit)]
    emit_rows(
        rows,
        LIST_COLUMNS,
        fmt,
        title=f"Exceptions ({status}{', ' + type_ if type_ else ''})",
        table_columns=TABLE_COLUMNS,
        empty="No exceptions.",
    )


def _active_user(ctx: click.Context, name: str) -> Account:
    """The active account `--user` names (its role and scope are what the action may do)."""
    with AccountStore.for_settings(command_settings(ctx)) as accounts:
        account = accounts.get(name)
    if account is None or account.disabled:
        state = "is disabled" if account is not None else "is not a user"
        raise click.ClickException(
            f"--user {name!r} {state}: actions are done as an active user of the app, with "
            "their role and scope (see `control-tower users list`)"
        )
    return account


def _until(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), datetime.min.time())
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date in YYYY-MM-DD format") from None


@exceptions.command("act")
@click.argument("item_id", type=int)
@click.option("--action", required=True, type=click.Choice(ACTIONS), help="What to do.")
@click.option(
    "--user",
    required=True,
    help="The active user acting (their role and scope apply; written to the audit log).",
)
@click.option("--note", help="Comment text (required for comment; kept with any action).")
@click.option("--until", callback=_until, help="Snooze until this date (YYYY-MM-DD, 00:00 UTC).")
@click.option("--reason", type=click.Choice(RESOLUTION_CODES), help="Resolution reason code.")
@click.option("--assignee", help="Who the item is assigned to.")
@click.option(
    "--expect-version",
    type=int,
    required=True,
    help="The item's version you saw (as shown by list or show); refused if it changed since.",
)
@click.pass_context
def act_on_item(
    ctx: click.Context,
    item_id: int,
    action: str,
    user: str,
    note: str | None,
    until: datetime | None,
    reason: str | None,
    assignee: str | None,
    expect_version: int,
) -> None:
    """Act on exception ITEM_ID as an active user; prints the item afterwards as JSON."""
    actor = _active_user(ctx, user)
    with _store(ctx) as store:
        try:
            item = act_in_scope(
                store,
                actor.scope,
                item_id,
                action,
                user=actor.name,
                role=actor.role,
                expected_version=expect_version,
                note=note,
                until=until,
                reason=reason,
                assignee=assignee,
            )
        except WorkflowError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(item_row(item, _now()), indent=2))


@exceptions.command("show")
@click.argument("item_id", type=int)
@click.pass_context
def show_item(ctx: click.Context, item_id: int) -> None:
    """Show one item with its detail, comments and audit log, as JSON."""
    with _store(ctx) as store:
        item = store.get(item_id)
        if item is None:
            raise click.ClickException(f"no exception with id {item_id}")
        out = {
            **item_row(item, _now()),
            "detail": item.detail,
            "suggested_action": EXCEPTION_TYPES[item.type].suggested_action
            if item.type in EXCEPTION_TYPES
            else None,
            "comments": [
                {"author": c.author, "at": c.created_at.isoformat(sep=" "), "body": c.body}
                for c in store.comments(item_id)
            ],
            "audit": [
                {
                    "actor": a.actor,
                    "at": a.at.isoformat(sep=" "),
                    "action": a.action,
                    "changes": a.changes,
                    "version": a.version,
                    "note": a.note,
                }
                for a in store.audit(item_id)
            ],
        }
    click.echo(json.dumps(out, indent=2, default=str))
