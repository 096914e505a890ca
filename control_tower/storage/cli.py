"""`control-tower db ...`: the app database's schema version (upgrade, current, history).

Every process upgrades the app database when it opens it; `db upgrade` does it on demand (before
starting the services after installing a new release, say) and reports what it did.
"""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

from control_tower.export import command_settings, emit_rows, format_option
from control_tower.storage.appdb import open_app_engine
from control_tower.storage.migrate import MigrationError, current_revision, head_revision, history


@click.group("db")
def db_group() -> None:
    """The app database (accounts, exception workflow): its schema version."""


def _revision(url: str) -> str | None:
    """The app database's revision; None when never migrated or not created yet."""
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return None
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return current_revision(conn)
    except OperationalError as exc:
        raise click.ClickException(f"cannot reach the app database: {exc.orig}") from None
    finally:
        engine.dispose()


@db_group.command()
@click.pass_context
def upgrade(ctx: click.Context) -> None:
    """Bring the app database to this release's schema (created if new)."""
    url = command_settings(ctx).app_db_url
    before = _revision(url)
    try:
        open_app_engine(url).dispose()
    except MigrationError as exc:
        raise click.ClickException(str(exc)) from None
    head = head_revision()
    if before == head:
        click.echo(f"The app database is already at revision {head} (the newest).")
    else:
        click.echo(f"Upgraded the app database from revision {before or '(none)'} to {head}.")


@db_group.command()
@click.pass_context
def current(ctx: click.Context) -> None:
    """The revision the app database is at, and the newest this release knows."""
    revision = _revision(command_settings(ctx).app_db_url)
    head = head_revision()
    state = (
        "up to date"
        if revision == head
        else f"behind: `control-tower db upgrade` brings it to {head}"
    )
    click.echo(f"{revision or '(none: never migrated)'} ({state})")


@db_group.command("history")
@format_option()
def history_command(fmt: str) -> None:
    """Every revision of the app database schema, oldest first."""
    rows = [{"revision": r, "follows": d, "change": doc} for r, d, doc in history()]
    emit_rows(rows, ("revision", "follows", "change"), fmt, title="App database revisions")
