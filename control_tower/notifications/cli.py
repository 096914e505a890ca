"""`control-tower notify`: check the escalation and subscription files, escalate, send digests."""

from __future__ import annotations

import click

from control_tower.config_files import ConfigError
from control_tower.export import command_settings
from control_tower.notifications.service import load_configuration, run_digests, run_escalation


@click.group("notify")
def notify_group() -> None:
    """Escalation of items past their SLA, subscriptions and daily digests."""


def _refuse(exc: ConfigError) -> click.ClickException:
    return click.ClickException(str(exc))


@notify_group.command("check")
@click.pass_context
def check(ctx: click.Context) -> None:
    """Validate escalation.yml and subscriptions.yml (and the users they name); print them."""
    settings = command_settings(ctx)
    try:
        config = load_configuration(settings)
    except ConfigError as exc:
        raise _refuse(exc) from None
    policies = config.escalations.policies
    none = "" if policies else " (no file, or none configured)"
    click.echo(f"{settings.escalation_path}: {len(policies)} policies{none}")
    for p in policies.values():
        to = " and ".join(
            x for x in (p.to_role and f"role {p.to_role}", p.to_user and f"user {p.to_user}") if x
        )
        click.echo(
            f"  {p.type}: {p.after_breach_hours:g} h after the SLA breach to {to}"
            + (", severity up a step per level" if p.raise_severity else "")
            + (f", again every {p.repeat_hours:g} h" if p.repeat_hours else ", once")
            + (f", up to level {p.max_level}" if p.max_level else "")
        )
    subs = config.subscriptions
    click.echo(f"{settings.subscriptions_path}: {len(subs)} users")
    for s in subs.values():
        digest = (
            f"digest by {s.digest.channel} to {s.digest.to} at {s.digest.hour:02d}:00 UTC"
            if s.digest
            else "no digest"
        )
        click.echo(
            f"  {s.user}: queues {', '.join(s.queues) or '-'}; "
            f"KPI alerts {', '.join(s.kpi_alerts) or '-'}; {digest}"
        )


@notify_group.command("escalate")
@click.pass_context
def escalate_command(ctx: click.Context) -> None:
    """Escalate the items past their SLA now (the pipeline's escalation step does it each run)."""
    try:
        report = run_escalation(command_settings(ctx))
    except ConfigError as exc:
        raise _refuse(exc) from None
    click.echo(report.summary())


@notify_group.command("digest")
@click.option("--user", "user", default=None, help="Only this user's digest, sent now.")
@click.option("--dry-run", is_flag=True, help="Print the digests; send and record nothing.")
@click.pass_context
def digest_command(ctx: click.Context, user: str | None, dry_run: bool) -> None:
    """Send the daily digests that are due (the scheduler does it every hour)."""
    try:
        report = run_digests(command_settings(ctx), user=user, dry_run=dry_run)
    except ConfigError as exc:
        raise _refuse(exc) from None
    if dry_run:
        for digest in report.digests:
            click.echo(f"To {digest.user}: {digest.subject}\n\n{digest.body}")
    click.echo(report.summary())
