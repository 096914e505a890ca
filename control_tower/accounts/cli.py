"""`control-tower users ...`: add, list, disable, enable, set-password, grant, revoke, token,
revoke-token.

Passwords are read from standard input (`--password-stdin`, first line) or
prompted for without echo; they never appear on the command line.

A scope entry is `entity:ID`, `location:ID`, or a bare ID looked up in the
newest serving snapshot's `locations` table (a location id or an entity id).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import click

from control_tower.accounts.models import ROLES
from control_tower.accounts.store import AccountError, AccountStore
from control_tower.export import command_settings, emit_rows, format_option
from control_tower.export import console as output_console
from control_tower.roles import PERMISSIONS
from control_tower.settings import Settings

console = output_console()


@contextmanager
def _store(ctx: click.Context) -> Iterator[AccountStore]:
    store = AccountStore.for_settings(command_settings(ctx))
    try:
        yield store
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line.removesuffix("\n").removesuffix("\r")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True, default="")


def _known_ids(settings: Settings) -> tuple[set[str], set[str]]:
    """Entity ids and location ids of the newest serving snapshot (empty before any landing)."""
    from control_tower.storage.serving import NoSnapshotError, ServingStore

    store = ServingStore(settings.serving_dir, settings.duckdb)
    try:
        with store.cursor() as cur:
            rows = cur.execute("SELECT location_id, entity_id FROM main.locations").fetchall()
    except NoSnapshotError:
        return set(), set()
    finally:
        store.close()
    return {e for _l, e in rows if e}, {loc for loc, _e in rows if loc}


def parse_scope(raw: str | None, settings: Settings) -> tuple[list[str], list[str]]:
    """`--scope` as (entity ids, location ids); bare ids are looked up in the warehouse."""
    if not raw:
        return [], []
    entities: list[str] = []
    locations: list[str] = []
    known: tuple[set[str], set[str]] | None = None
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        kind, sep, value = item.partition(":")
        if sep and kind in ("entity", "location"):
            (entities if kind == "entity" else locations).append(value.strip())
            continue
        known = known or _known_ids(settings)
        is_entity, is_location = item in known[0], item in known[1]
        if is_entity and is_location:
            raise click.BadParameter(
                f"{item!r} is both an entity and a location: write entity:{item} or location:{item}",
                param_hint="--scope",
            )
        if not (is_entity or is_location):
            where = "in the warehouse" if any(known) else "(no data landed yet)"
            raise click.BadParameter(
                f"{item!r} is no known entity or location {where}: "
                f"write entity:{item} or location:{item}",
                param_hint="--scope",
            )
        (entities if is_entity else locations).append(item)
    return entities, locations


@click.group("users")
def users() -> None:
    """Manage who may sign in to the web app, with which role and scope."""


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, help=f"One of: {', '.join(ROLES)}.")
@click.option("--scope", help="Comma-separated entity or location ids (default: everything).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.pass_context
def add(ctx: click.Context, name: str, role: str, scope: str | None, password_stdin: bool) -> None:
    """Add a user."""
    if role not in ROLES:
        raise click.BadParameter(
            f"unknown role {role!r}: choose one of {', '.join(ROLES)}", param_hint="--role"
        )
    entities, locations = parse_scope(scope, command_settings(ctx))
    password = _read_password(password_stdin)
    with _store(ctx) as store:
        account = store.create_user(name, role, password, entities=entities, locations=locations)
    console.print(f"Added {account.name} ({account.role}, scope: {account.scope.describe()}).")


LIST_COLUMNS = ("name", "role", "scope", "permissions", "state", "last_sign_in", "created")


@users.command("list")
@format_option()
@click.pass_context
def list_(ctx: click.Context, fmt: str) -> None:
    """List users with role, scope and state."""
    with _store(ctx) as store:
        accounts = store.list_users()
    rows = [
        {
            "name": a.name,
            "role": a.role,
            "scope": a.scope.describe(),
            "permissions": ", ".join(sorted(a.permissions)) or "-",
            "state": "disabled" if a.disabled else "locked" if a.locked_until else "active",
            "last_sign_in": a.last_login_at,
            "created": a.created_at,
        }
        for a in accounts
    ]
    emit_rows(
        rows,
        LIST_COLUMNS,
        fmt,
        title="Users",
        cell=_list_cell,
        empty="No users yet. Add one with: control-tower users add NAME --role admin",
    )


def _list_cell(column: str, value: Any) -> str:
    if column == "last_sign_in":
        return f"{value:%Y-%m-%d %H:%M}" if value else "never"
    if column == "created":
        return f"{value:%Y-%m-%d}"
    return str(value)


def _switch_command(verb: Literal["disable", "enable"], done: str, help: str) -> click.Command:
    """`users disable NAME` or `users enable NAME`: the store's method of that name."""

    @users.command(verb, help=help)
    @click.argument("name")
    @click.pass_context
    def command(ctx: click.Context, name: str) -> None:
        with _store(ctx) as store:
            getattr(store, verb)(name)
        console.print(f"{done} {name}.")

    return command


disable = _switch_command(
    "disable", "Disabled", "Stop a user from signing in or using API tokens (ends their sessions)."
)
enable = _switch_command("enable", "Enabled", "Let a disabled or locked-out user sign in again.")


@users.command("set-password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.pass_context
def set_password(ctx: click.Context, name: str, password_stdin: bool) -> None:
    """Set a new password (clears a lockout, signs the user out everywhere)."""
    with _store(ctx) as store:
        if store.get(name) is None:
            raise AccountError(f"no user named {name!r}")
        store.set_password(name, _read_password(password_stdin))
    console.print(f"Password of {name} changed.")


def _permission_command(verb: Literal["grant", "revoke"], help: str) -> click.Command:
    """`users grant NAME PERMISSION` or `users revoke NAME PERMISSION`."""

    @users.command(verb, help=help)
    @click.argument("name")
    @click.argument("permission", type=click.Choice(PERMISSIONS))
    @click.pass_context
    def command(ctx: click.Context, name: str, permission: str) -> None:
        with _store(ctx) as store:
            account = getattr(store, verb)(name, permission)
        held = ", ".join(sorted(account.permissions)) or "none"
        console.print(f"{name} now holds: {held}.")

    return command


grant = _permission_command(
    "grant", "Give a user a permission beyond their role (e.g. planner_lead approves)."
)
revoke = _permission_command("revoke", "Take a permission from a user.")


@users.command("token")
@click.argument("name")
@click.option("--label", default="", help="What the token is for.")
@click.pass_context
def token(ctx: click.Context, name: str, label: str) -> None:
    """Issue a personal API token; it is printed once and stored only hashed."""
    with _store(ctx) as store:
        secret, info = store.issue_token(name, label=label)
    click.echo(secret)
    click.echo(
        f"Token #{info.id} for {name}. Keep it now: it cannot be shown again. "
        f"Revoke it with: control-tower users revoke-token {info.id}",
        err=True,
    )


@users.command("revoke-token")
@click.argument("token_id", type=int)
@click.pass_context
def revoke_token(ctx: click.Context, token_id: int) -> None:
    """Revoke an API token by its number."""
    with _store(ctx) as store:
        if not store.revoke_token(token_id):
            raise AccountError(f"no live token #{token_id}")
    console.print(f"Revoked token #{token_id}.")
