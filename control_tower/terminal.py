"""Terminal output shared by the commands: landing progress and the run summary table."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from control_tower.landing.batch import BatchResult
from control_tower.landing.progress import ProgressFn

if TYPE_CHECKING:
    from pipelines.run import RunReport

STATUS_STYLE = {
    "loaded": "green",
    "skipped_duplicate": "cyan",
    "rejected": "red",
    "failed": "red",
}


def _origin(b: BatchResult) -> str:
    """Where a batch came from: its inbox system folder, or its source mapping."""
    if not b.label:
        return b.system or "?"
    _, sep, mapping = b.label.rpartition(" (mapping ")
    return f"mapping {mapping.rstrip(')')}" if sep else b.label.split("/")[0]


def _name(b: BatchResult) -> str:
    """A batch's delivery: `<system>/<file>` of the inbox, or its source's own label."""
    return b.label or f"{b.system or '?'}/{b.file.name}"


def _rows(batches: list[BatchResult], by_table: bool) -> list[tuple[str, ...]]:
    """Table rows: one per batch, or one per table and status with its files added up."""
    groups: dict[tuple[str, str], list[BatchResult]] = {}
    for b in batches:
        if by_table:
            key = (f"{_origin(b)}/{b.table or b.file.name}", b.status)
        else:
            key = (str(b.batch_id), b.status)
        groups.setdefault(key, []).append(b)
    rows = []
    for (label, status), group in groups.items():
        first = group[0]
        rows.append(
            (
                str(len(group)) if by_table else str(first.batch_id),
                label if by_table else _name(first),
                f"[{STATUS_STYLE.get(status, 'white')}]{status}[/]",
                f"{sum(b.rows_read for b in group):,}",
                f"{sum(b.counts.inserted for b in group):,}",
                f"{sum(b.counts.updated for b in group):,}",
                f"{sum(b.counts.stale for b in group):,}",
                f"{sum(b.rows_quarantined for b in group):,}",
                f"{sum(b.seconds for b in group):.1f}",
            )
        )
    return rows


@contextmanager
def landing_progress(console: Console) -> Iterator[ProgressFn]:
    """A progress bar for the file being landed: its stage and DuckDB's percent estimate."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("starting", total=100)
        current: dict[str, str] = {}

        def update(file_name: str, stage: str, pct: float | None) -> None:
            if current.get("file") != file_name or current.get("stage") != stage:
                current.update(file=file_name, stage=stage)
                bar.reset(task, total=100, description=f"{file_name}: {stage}")
            if pct is not None:
                bar.update(task, completed=pct)

        yield update


def print_run_report(console: Console, report: RunReport, *, by_table: bool = False) -> None:
    """The batches of a run as a table (one row per file, or per table), then notes and totals."""
    ing = report.ingest
    if ing.interrupted_before:
        console.print(
            f"[yellow]{ing.interrupted_before} batch(es) of an earlier run were interrupted "
            "before they committed; nothing of them was kept and their files were landed again.[/]"
        )
    if not ing.batches:
        console.print("The inbox is empty: nothing to land.")
    else:
        table = Table(title=f"Run {report.run_id}", title_justify="left")
        table.add_column("files" if by_table else "batch", justify="right")
        table.add_column("table" if by_table else "file", overflow="fold", ratio=1)
        table.add_column("status")
        # rows read, inserted, updated, stale (older than what is landed), quarantined, seconds
        for name in ("read", "new", "upd", "stale", "quar", "sec"):
            table.add_column(name, justify="right")
        for row in _rows(ing.batches, by_table):
            table.add_row(*row)
        notes = [
            f"[{b.batch_id}] {_name(b)}: {b.error or '; '.join(b.warnings)}"
            for b in ing.batches
            if b.error or b.warnings
        ]
        console.print(table)
        console.print(
            "read = rows in the file, new/upd = inserted/updated, stale = older than the landed "
            "version (not applied), quar = quarantined",
            style="dim",
        )
        for note in notes:
            console.print(note, highlight=False)
    for step in report.steps:
        marks = {"ok": "[green]ok[/]", "waiting": "[yellow]waiting[/]"}
        mark = marks.get(step.status, f"[red]failed[/]: {step.error}")
        how = f" [dim]({step.refresh})[/]" if step.refresh else ""
        console.print(f"post-load step {step.name}: {mark} {step.summary} ({step.ms} ms){how}")
    console.print(
        f"{ing.count('loaded')} loaded, {ing.count('skipped_duplicate')} skipped as already "
        f"loaded, {ing.count('rejected')} rejected, {ing.count('failed')} failed; "
        f"{ing.rows_loaded:,} rows loaded, {ing.rows_quarantined:,} quarantined in "
        f"{report.seconds:.1f}s."
        + (f" Published {report.snapshot.name}." if report.snapshot else "")
        + (f" {report.publish.summary()}" if report.publish else "")
    )
    if ing.rows_quarantined or ing.count("rejected"):
        console.print(
            "Reasons: the Data health page, or `control-tower quarantine`; rejected files are in "
            "the quarantine folder with a .reason.txt."
        )
