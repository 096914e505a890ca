"""`control-tower demo`: demo data, first landing, then the app and the scheduler in one process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rich.console import Console
from rich.table import Table

from control_tower.accounts import AccountStore
from control_tower.accounts.demo import credentials_path, seed_demo_users
from control_tower.actions.approvals import write_example
from control_tower.settings import Settings
from control_tower.storage.serving import current_snapshot
from control_tower.terminal import landing_progress, print_run_report
from pipelines.schedule import SchedulerService, write_heartbeat


def _inbox_empty(settings: Settings) -> bool:
    return not any(p.is_file() for p in settings.inbox.rglob("*"))


def _print_users(console: Console, settings: Settings, accounts: AccountStore) -> None:
    """Seed one user per role and print how to sign in as each."""
    table = Table(title="Sign in as (one user per role, named after it)")
    for col in ("user", "scope", "password"):
        table.add_column(col, no_wrap=True)
    for user in seed_demo_users(settings, accounts):
        password = user.password or "(set by hand, unchanged)"
        table.add_row(user.name, user.scope.describe(), password)
    console.print(table)
    console.print(f"Passwords are kept in {credentials_path(settings)} (readable by you only).")


def run_demo(
    settings: Settings, *, host: str, port: int, scale: str, seed: int, console: Console
) -> None:
    """Generate (if needed), land, then serve on host:port with the scheduler until Ctrl-C."""
    from control_tower.demo.generator import generate
    from control_tower.web import create_app, serve_app

    settings.ensure_dirs()
    if write_example(settings.approval_rules_path):
        console.print(f"Wrote example approval rules to {settings.approval_rules_path}")
    with SchedulerService(settings, "control-tower demo") as service:
        if current_snapshot(settings.serving_dir) is None and _inbox_empty(settings):
            with console.status(f"generating {scale} demo data…") as status:
                gen = generate(
                    settings.inbox,
                    seed=seed,
                    scale=scale,
                    progress=lambda msg: status.update(f"generating: {msg}"),
                )
            console.print(
                f"Generated {gen.order_lines:,} order lines as of {gen.as_of} into {settings.inbox}"
            )
        with landing_progress(console) as progress:
            report = service.run_pipeline(trigger="demo", progress=progress)
        print_run_report(console, report, by_table=True)
        first = datetime.now(UTC) + timedelta(minutes=settings.ingest_every_minutes)
        service.build_scheduler(background=True, first_run=first).start()
        write_heartbeat(settings, report, next_run=first)
        accounts = AccountStore.for_settings(settings)
        _print_users(console, settings, accounts)
        app = create_app(settings, accounts=accounts)
        console.print(
            f"\n[bold]Control tower is running on http://{host}:{port}/[/]\n"
            f"Data folder: {settings.home}. Drop extracts into {settings.inbox}/{{erp,wms,tms}}/; "
            f"they land every {settings.ingest_every_minutes:g} minutes. Ctrl-C stops."
        )
        serve_app(app, host=host, port=port)
