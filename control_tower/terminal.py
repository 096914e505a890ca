"""Terminal output shared by the commands: landing progress and the run summary table."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from control_tower.landing.progress import ProgressFn

if TYPE_CHECKING:
    from pipelines.run import RunReport

STATUS_STYLE = {
    "loaded": "green",
    "skipped_duplicate": "cyan",
    "rejected": "red",
    "failed": "red",
}


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


def print_run_report(console: Console, report: RunReport) -> None:
    """The batches of a run as a table, then notes, post-load steps and totals."""
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
        table.add_column("batch", justify="right")
        table.add_column("file", overflow="fold", ratio=1)
        table.add_column("status")
        # rows read, inserted, updated, stale (older than what is landed), quarantined, seconds
        for name in ("read", "new", "upd", "stale", "quar", "sec"):
            table.add_column(name, justify="right")
        notes = []
        for b in ing.batches:
            note = b.error or "; ".join(b.warnings)
            if note:
                notes.append(f"[{b.batch_id}] {b.system or '?'}/{b.file.name}: {note}")
            table.add_row(
                str(b.batch_id),
                f"{b.system or '?'}/{b.file.name}",
                f"[{STATUS_STYLE.get(b.status, 'white')}]{b.status}[/]",
                f"{b.rows_read:,}",
                f"{b.counts.inserted:,}",
                f"{b.counts.updated:,}",
                f"{b.counts.stale:,}",
                f"{b.rows_quarantined:,}",
                f"{b.seconds:.1f}",
            )
        console.print(table)
        console.print(
            "read = rows in the file, new/upd = inserted/updated, stale = older than the landed "
            "version (not applied), quar = quarantined",
            style="dim",
        )
        for note in notes:
            console.print(note, highlight=False)
    for step in report.steps:
        mark = "[green]ok[/]" if step.status == "ok" else f"[red]failed[/]: {step.error}"
        console.print(f"post-load step {step.name}: {mark} {step.summary} ({step.ms} ms)")
    console.print(
        f"{ing.count('loaded')} loaded, {ing.count('skipped_duplicate')} skipped as already "
        f"loaded, {ing.count('rejected')} rejected, {ing.count('failed')} failed; "
        f"{ing.rows_loaded:,} rows loaded, {ing.rows_quarantined:,} quarantined in "
        f"{report.seconds:.1f}s."
        + (f" Published {report.snapshot.name}." if report.snapshot else "")
    )
    if ing.rows_quarantined or ing.count("rejected"):
        console.print(
            "Reasons: the Data health page, or `control-tower quarantine`; rejected files are in "
            "the quarantine folder with a .reason.txt."
        )
