"""What a pipeline run changed: the seam between landing and the incremental post-load steps.

A run lands batches; every landed row carries the `_batch_id` of the batch that
last wrote it. A post-load step gets a `Changes`: either a full refresh (with
the reason: the first run, a new day, the periodic refresh, the step failed
before, an operator asked), or the batches this run loaded per table, from
which the step derives what it recomputes (days and members for the KPIs,
keys for the exception rules, item-locations for the risk scores).

The decision which it is lives in `pipelines.refresh`; this module is below
every step's package so that each can read it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class Changes:
    """A full refresh (`full_reason` set), or the batches a run loaded, by landed table."""

    full_reason: str | None = None
    batches: Mapping[str, tuple[int, ...]] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def full_refresh(cls, reason: str) -> Changes:
        """Everything is recomputed, for `reason` (shown on the run)."""
        return cls(full_reason=reason)

    @classmethod
    def of_batches(cls, loaded: Iterable[tuple[str, int]]) -> Changes:
        """An incremental change: the (table, batch id) pairs a run loaded."""
        by_table: dict[str, list[int]] = {}
        for table, batch_id in loaded:
            by_table.setdefault(table, []).append(int(batch_id))
        return cls(
            batches=MappingProxyType({t: tuple(sorted(ids)) for t, ids in sorted(by_table.items())})
        )

    @property
    def full(self) -> bool:
        """Whether everything is recomputed."""
        return self.full_reason is not None

    @property
    def empty(self) -> bool:
        """An incremental change that loaded nothing: nothing to recompute."""
        return not self.full and not self.batches

    def tables(self) -> frozenset[str]:
        """The landed tables this run loaded rows into."""
        return frozenset(self.batches)

    def touches(self, tables: Iterable[str]) -> bool:
        """Whether a full refresh, or any of `tables` (landed tables; others are ignored) got rows."""
        return self.full or any(t in self.batches for t in tables)

    def batch_ids(self, table: str) -> tuple[int, ...]:
        """The batches this run loaded into `table` (none: the table did not change)."""
        return self.batches.get(table, ())

    def rows_sql(self, table: str, alias: str | None = None) -> str:
        """A SQL condition true for the rows of `table` this run wrote (TRUE on a full refresh).

        Batch ids are integers from the ledger, so they are inlined, never user text."""
        if self.full:
            return "TRUE"
        ids = self.batch_ids(table)
        if not ids:
            return "FALSE"
        column = f"{alias}._batch_id" if alias else "_batch_id"
        return f"{column} IN ({', '.join(str(int(i)) for i in ids)})"

    def describe(self) -> str:
        """One phrase for the run record: 'full (reason)' or 'delta of N batches'."""
        if self.full:
            return f"full refresh ({self.full_reason})"
        n = sum(len(ids) for ids in self.batches.values())
        return f"delta of {n} batch{'es' if n != 1 else ''}"
