"""`control-tower kpi ...`: list, show, compute, diff and certify governed KPIs.

Every command reads the published serving snapshot (never the live
warehouse) and the definitions folder of the settings; a KPI's status follows
its sign-offs (the definitions folders' logs and the app database's).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import click
import duckdb
from rich.console import Console
from rich.rule import Rule
from rich.syntax import Syntax

from control_tower.export import command_settings, console, emit_rows, format_option, json_text
from control_tower.kpi.catalog import Catalog, CatalogError, HistoryRecord, SignOff, load_catalog
from control_tower.kpi.certification import certification
from control_tower.kpi.compiler import GRAINS, CompileError, compile_kpi
from control_tower.kpi.diff import version_entries
from control_tower.kpi.format import format_value
from control_tower.settings import Settings, utc_now
from control_tower.storage import NoSnapshotError, ServingStore


@contextmanager
def _cursor(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    store = ServingStore(settings.serving_dir, settings.duckdb)
    try:
        with store.cursor() as cur:
            yield cur
    except NoSnapshotError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()


def _published_history(settings: Settings) -> list[HistoryRecord]:
    """The version history of the published snapshot; empty before the first one."""
    store = ServingStore(settings.serving_dir, settings.duckdb)
    try:
        with store.cursor() as cur:
            return _history(cur)
    except NoSnapshotError:
        return []  # nothing published yet: no version recorded
    finally:
        store.close()


def _history(cur: duckdb.DuckDBPyConnection) -> list[HistoryRecord]:
    from control_tower.kpi.governance import read_history

    return read_history(cur)


def _recorded_signoffs(settings: Settings) -> list[SignOff]:
    """The sign-offs recorded in the app database."""
    from control_tower.kpi.signoffs import read_signoffs
    from control_tower.storage.appdb import AppDatabase, open_app_engine

    with AppDatabase(open_app_engine(settings.app_db_url)) as db:
        return read_signoffs(db)


def _catalog(settings: Settings, history: list[HistoryRecord]) -> Catalog:
    try:
        return load_catalog(
            settings.kpi_definitions, history=history, signoffs=_recorded_signoffs(settings)
        )
    except CatalogError as exc:
        raise click.ClickException(str(exc)) from None


def _as_of(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date:
    if value is None:
        return utc_now().date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date in YYYY-MM-DD format") from None


def _where(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, list[str]] = {}
    for item in values:
        dim, sep, value = item.partition("=")
        if not sep or not dim.strip():
            raise click.BadParameter(f"{item!r} is not DIM=VALUE")
        out.setdefault(dim.strip(), []).append(value)
    return {k: v[0] if len(v) == 1 else v for k, v in out.items()}


@click.group("kpi")
def kpi_group() -> None:
    """Governed KPIs: definitions, compiled SQL, values and version history."""


LIST_COLUMNS = (
    "name",
    "label",
    "status",
    "version",
    "signed_off_by",
    "signed_off_at",
    "owner",
    "type",
    "model",
    "since",
    "file",
)


@kpi_group.command("list")
@format_option()
@click.pass_context
def list_kpis(ctx: click.Context, fmt: str) -> None:
    """Every KPI with its owner, status, version and when its content last changed.

    Before the first landing there is no recorded history: the catalog is listed without it.
    """
    settings = command_settings(ctx)
    history = _published_history(settings)
    catalog = _catalog(settings, history)
    seen = {r.content_hash: r.first_seen_at for r in history}
    rows = [
        {
            "name": kpi.name,
            "label": kpi.label,
            "status": kpi.status,
            "version": kpi.version,
            "signed_off_by": kpi.signoff.signed_by if kpi.signoff else None,
            "signed_off_at": kpi.signoff.signed_at if kpi.signoff else None,
            "owner": kpi.owner,
            "type": kpi.type,
            "model": kpi.model.name,
            "since": seen.get(kpi.content_hash),
            "file": str(kpi.path),
        }
        for kpi in sorted(catalog.kpis.values(), key=lambda k: k.name)
    ]
    emit_rows(
        rows,
        LIST_COLUMNS,
        fmt,
        title=f"KPI catalog ({', '.join(str(f) for f in settings.kpi_definitions)})",
        table_columns=LIST_COLUMNS[:-1],
        cell=_list_cell,
        empty="The catalog has no KPIs.",
    )


def _list_cell(column: str, value: Any) -> str:
    if column == "since":
        return f"{value:%Y-%m-%d %H:%M}" if value else "not yet recorded"
    if column == "signed_off_at":
        return f"{value:%Y-%m-%d %H:%M}" if value else ""
    return "" if value is None else str(value)


@kpi_group.command("show")
@click.argument("name")
@click.option("--as-of", "as_of", callback=_as_of, help="Evaluation date (default: today, UTC).")
@click.pass_context
def show(ctx: click.Context, name: str, as_of: date) -> None:
    """A KPI's definition, version history, the tables it reads and its compiled SQL."""
    settings = command_settings(ctx)
    with _cursor(settings) as cur:
        history = _history(cur)
    catalog = _catalog(settings, history)
    try:
        kpi = catalog.kpi(name)
    except KeyError as exc:
        raise click.ClickException(str(exc.args[0])) from None
    out = console()
    _rule(out, f"{kpi.name} v{kpi.version} ({kpi.status}) - {kpi.path}")
    out.print(f"content {kpi.content_hash}")
    found = certification(kpi, catalog.signoffs)
    out.print(
        f"{found.status}: {found.reason}"
        + (f" ({found.signoff.note})" if found.signoff and found.signoff.note else "")
    )
    out.print(Syntax(kpi.text, "yaml"))
    _rule(out, "version history")
    for entry in version_entries(kpi, history, catalog.signoffs):
        mark = " (current)" if entry.current else ""
        seen = (
            f"first seen {entry.first_seen_at:%Y-%m-%d %H:%M}"
            if entry.first_seen_at
            else "not recorded yet"
        )
        signed = f", {entry.signoff.describe()}" if entry.signoff else ""
        out.print(f"v{entry.version} {entry.content_hash[:12]} {seen}{signed}{mark}")
    _rule(out, "tables read")
    out.print(", ".join(kpi.model.tables))
    _rule(out, f"compiled SQL (as of {as_of})")
    out.print(Syntax(compile_kpi(kpi, as_of=as_of).sql, "sql"))


def _rule(out: Console, title: str) -> None:
    """A section heading: a rule as wide as the terminal, or of a fixed width when piped."""
    out.print(Rule(title), width=min(out.width, 100))


def _cell(column: str, value: Any, number_format: str | None) -> str:
    """Table cells: KPI values in the definition's format, counts with separators."""
    if value is None:
        return ""
    if number_format and column.startswith("value") and isinstance(value, int | float):
        return format_value(value, number_format)
    if column in ("numerator", "denominator") and isinstance(value, int | float):
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
    return str(value)


def _emit(result: dict[str, Any], fmt: str, number_format: str | None = None) -> None:
    if fmt == "json":  # the whole result: rows with the KPI, version and dates they belong to
        click.echo(json_text(result))
        return
    rows = result["rows"]
    version = f"v{result['version']}"
    if "previous_version" in result:  # a diff: name both definitions
        version = (
            f"v{result['previous_version']} ({result['previous_content']}) -> "
            f"{version} ({result['content']})"
        )
    emit_rows(
        rows,
        list(rows[0]) if rows else ["value"],
        fmt,
        title=f"{result['kpi']} {version} as of {result['as_of']} (fresh to {result['freshness']})",
        cell=lambda c, v: _cell(c, v, number_format),
        right=("value", "numerator", "denominator"),
        empty="No rows.",
    )


@kpi_group.command("compute")
@click.argument("name")
@click.option(
    "--as-of", "as_of", required=True, callback=_as_of, help="Evaluation date YYYY-MM-DD."
)
@click.option("--grain", type=click.Choice(GRAINS), help="Period: day, week or month.")
@click.option("--by", "by", multiple=True, help="Group by an allowed dimension (repeatable).")
@click.option("--where", "where", multiple=True, callback=_where, help="DIM=VALUE filter.")
@format_option()
@click.option("--companions", is_flag=True, help="Add the KPI's companion figures to each row.")
@click.pass_context
def compute_cmd(
    ctx: click.Context,
    name: str,
    as_of: date,
    grain: str | None,
    by: tuple[str, ...],
    where: dict[str, Any],
    fmt: str,
    companions: bool,
) -> None:
    """Compute a KPI from the published snapshot."""
    from control_tower.kpi.query import compute

    settings = command_settings(ctx)
    with _cursor(settings) as cur:
        catalog = _catalog(settings, _history(cur))
        try:
            kpi = catalog.kpi(name)
            result = compute(
                cur, kpi, as_of=as_of, grain=grain, by=by, where=where, companions=companions
            )
        except (KeyError, CompileError) as exc:
            raise click.ClickException(str(exc.args[0])) from None
        except duckdb.Error as exc:
            raise click.ClickException(
                f"{name} cannot be computed on this snapshot: {exc}"
            ) from None
    _emit(result, fmt, kpi.format)


@kpi_group.command("diff")
@click.argument("name")
@click.option(
    "--as-of", "as_of", required=True, callback=_as_of, help="Evaluation date YYYY-MM-DD."
)
@click.option("--grain", type=click.Choice(GRAINS))
@click.option("--by", "by", multiple=True, help="Group by an allowed dimension (repeatable).")
@format_option()
@click.pass_context
def diff(
    ctx: click.Context, name: str, as_of: date, grain: str | None, by: tuple[str, ...], fmt: str
) -> None:
    """The KPI under its previous recorded definition and its current one, side by side."""
    from control_tower.kpi.diff import diff_versions

    settings = command_settings(ctx)
    with _cursor(settings) as cur:
        history = _history(cur)
        catalog = _catalog(settings, history)
        try:
            kpi = catalog.kpi(name)
            result = diff_versions(cur, kpi, history, as_of=as_of, grain=grain, by=by)
        except (KeyError, CompileError, LookupError) as exc:
            raise click.ClickException(str(exc.args[0])) from None
        except CatalogError as exc:  # the recorded previous definition no longer loads
            raise click.ClickException(f"the previous definition of {name}: {exc}") from None
        except duckdb.Error as exc:
            raise click.ClickException(
                f"{name} cannot be compared on this snapshot: {exc}"
            ) from None
    _emit(result, fmt, kpi.format)


@kpi_group.command("certify")
@click.argument("name")
@click.option("--by", "by", required=True, help="The user signing off (holds kpi_owner).")
@click.option("--note", default=None, help="What was checked before signing off.")
@click.pass_context
def certify_cmd(ctx: click.Context, name: str, by: str, note: str | None) -> None:
    """Sign off the current version of KPI NAME: it is certified from now on.

    The user named by --by must exist, be enabled and hold the kpi_owner permission
    (`control-tower users grant USER kpi_owner`). The sign-off binds the version and the
    content hash of the definition as it is now; a later change needs a new version and a
    new sign-off. It is recorded in the app database with who and when.
    """
    from control_tower.accounts import AccountStore
    from control_tower.kpi.signoffs import SignOffError, SignOffNotAllowedError, certify
    from control_tower.storage.appdb import AppDatabase, open_app_engine

    settings = command_settings(ctx)
    history = _published_history(settings)
    catalog = _catalog(settings, history)
    with AccountStore.for_settings(settings) as accounts:
        approver = accounts.get(by)
    if approver is None:
        raise click.ClickException(
            f"no user {by!r}: name an existing user (control-tower users list)"
        )
    if approver.disabled:
        raise click.ClickException(f"user {by!r} is disabled: a disabled user signs nothing off")
    try:
        with AppDatabase(open_app_engine(settings.app_db_url)) as db:
            signoff = certify(db, catalog, name, approver, note=note)
    except (SignOffError, SignOffNotAllowedError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"{name} v{signoff.version} (content {signoff.content_hash[:12]}) is certified: "
        f"{signoff.describe()}"
    )
