"""`control-tower requests`: raise action requests from exception items, list, show, approve,
reject and cancel them, and check the approval rules file.

Every change is made as an active user of the app (`--user`), with their role, scope and
permissions, under the same rules as the API (`actions.service`). Raising reads the newest
serving snapshot (the data the pages show).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from control_tower.actions import service
from control_tower.actions.approvals import load_rules
from control_tower.actions.handover import hand_over
from control_tower.actions.store import REQUEST_TYPES, STATUSES
from control_tower.actions.types import RequestInputError, RequestNotAllowedError
from control_tower.config_files import ConfigError
from control_tower.exceptions.cli import _active_user
from control_tower.exceptions.store import ExceptionStore
from control_tower.export import command_settings, emit_rows, format_option, json_text

LIST_COLUMNS = (
    "id",
    "type",
    "status",
    "exception_id",
    "location_id",
    "item_id",
    "value",
    "requested_by",
    "requested_at",
    "approval_rule",
    "decided_by",
    "version",
)
RULE_COLUMNS = ("name", "request_types", "min_value", "approver_role", "approver_permission")


@contextmanager
def _store(ctx: click.Context) -> Iterator[ExceptionStore]:
    """The app database's store; the service's refusals as command errors."""
    store = ExceptionStore.open(command_settings(ctx).app_db_url)
    try:
        yield store
    except (
        service.UnknownRequestError,
        service.RequestConflictError,
        RequestNotAllowedError,
        RequestInputError,
        ConfigError,
    ) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()


def _user_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--user", required=True, help="The active user acting (their role, scope and permissions)."
    )(f)


@click.group("requests")
def requests_group() -> None:
    """Action requests raised from exceptions: transfers, expedites, requisitions, ..."""


@requests_group.command("list")
@_user_option
@click.option(
    "--view",
    type=click.Choice(service.VIEWS),
    default="all",
    show_default=True,
    help="awaiting: yours to approve; mine: raised by you; all: every request in your scope.",
)
@click.option("--status", type=click.Choice(STATUSES), help="Only requests in this status.")
@click.option("--type", "type_", type=click.Choice(REQUEST_TYPES), help="Only this type.")
@click.option("--exception", "exception_id", type=int, help="Only those raised from this item.")
@format_option()
@click.pass_context
def list_requests(
    ctx: click.Context,
    user: str,
    view: str,
    status: str | None,
    type_: str | None,
    exception_id: int | None,
    fmt: str,
) -> None:
    """List requests in the user's scope, newest first."""
    actor = _active_user(ctx, user)
    with _store(ctx) as store:
        _total, found = service.list_requests(
            store,
            actor=actor,
            view=view,
            exception_id=exception_id,
            status=status,
            type_name=type_,
            limit=1000,
        )
    rows = [{c: service.request_json(r)[c] for c in LIST_COLUMNS} for r in found]
    emit_rows(rows, LIST_COLUMNS, fmt, title=f"Requests ({view})", empty="No requests.")


@requests_group.command("show")
@click.argument("request_id", type=int)
@_user_option
@click.pass_context
def show(ctx: click.Context, request_id: int, user: str) -> None:
    """Show one request and its audit trail, as JSON."""
    actor = _active_user(ctx, user)
    with _store(ctx) as store:
        view = service.get_request(store, request_id, actor=actor)
    out = {
        "request": service.request_json(view.request),
        "events": [service.event_json(e) for e in view.events],
    }
    click.echo(json_text(out))


def _params(values: tuple[str, ...]) -> dict[str, str]:
    params: dict[str, str] = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{value!r}: write NAME=VALUE", param_hint="--param")
        params[name.strip()] = text
    return params


@requests_group.command("raise")
@click.argument("exception_id", type=int)
@click.option("--type", "type_", required=True, type=click.Choice(REQUEST_TYPES))
@click.option(
    "--param", "params", multiple=True, help="A field as NAME=VALUE (repeat for each field)."
)
@click.option("--note", help="Why (kept with the request and shown to the approver).")
@_user_option
@click.pass_context
def raise_(
    ctx: click.Context,
    exception_id: int,
    type_: str,
    params: tuple[str, ...],
    note: str | None,
    user: str,
) -> None:
    """Raise a request of --type from exception EXCEPTION_ID; prints the request as JSON."""
    from control_tower.storage.serving import NoSnapshotError, ServingStore

    settings = command_settings(ctx)
    actor = _active_user(ctx, user)
    fields = _params(params)
    serving = ServingStore(settings.serving_dir, settings.duckdb)
    try:
        with _store(ctx) as store, serving.cursor() as cur:
            request = service.raise_request(
                store,
                cur,
                load_rules(settings.approval_rules_path),
                actor=actor,
                exception_id=exception_id,
                type_name=type_,
                params=fields,
                note=note,
            )
            request = hand_over(settings, store, request)
    except NoSnapshotError as exc:
        raise click.ClickException(str(exc) or "no data has been published yet") from None
    finally:
        serving.close()
    click.echo(json_text(service.request_json(request)))


def _decision(verb: str, help: str) -> click.Command:
    """`requests approve|reject|cancel ID --user NAME --expect-version N [--note ...]`."""

    @requests_group.command(verb, help=help)
    @click.argument("request_id", type=int)
    @_user_option
    @click.option(
        "--expect-version",
        type=int,
        required=True,
        help="The request's version you saw (as list or show print it); refused if changed.",
    )
    @click.option("--note", help="Why (required to reject).")
    @click.pass_context
    def command(
        ctx: click.Context, request_id: int, user: str, expect_version: int, note: str | None
    ) -> None:
        actor = _active_user(ctx, user)
        with _store(ctx) as store:
            step = {"actor": actor, "expected_version": expect_version, "note": note}
            if verb == "cancel":
                request = service.cancel(store, request_id, **step)
            else:
                request = service.decide(store, request_id, verb, **step)
            request = hand_over(command_settings(ctx), store, request)
        click.echo(json_text(service.request_json(request)))

    return command


approve = _decision("approve", "Approve a pending request as the approver its rule names.")
reject = _decision("reject", "Reject a pending request (--note says why).")
cancel = _decision("cancel", "Cancel a request not yet sent (its requester or an admin).")


@requests_group.command("check-rules")
@format_option()
@click.pass_context
def check_rules(ctx: click.Context, fmt: str) -> None:
    """Check the approval rules file and print its rules (a mistake: file, line and why)."""
    path = command_settings(ctx).approval_rules_path
    try:
        rules = load_rules(path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    rows = [{**rule.to_json(), "request_types": ", ".join(rule.request_types)} for rule in rules]
    emit_rows(
        rows,
        RULE_COLUMNS,
        fmt,
        title=f"Approval rules ({path})",
        empty=f"No approval rules ({path} absent or empty): every request is approved at once.",
    )
