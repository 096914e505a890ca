"""Building blocks of the extract contract: column types, columns, references, tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ColumnType(StrEnum):
    """How a column is validated and stored."""

    ID = "id"  # a key or reference: non-empty string, never float-formatted
    TEXT = "text"
    INT = "int"  # whole number
    DECIMAL = "decimal"  # exact decimal, stored as DECIMAL(18,4)
    QTY = "qty"  # quantity in the row's uom, stored in base units as DECIMAL(18,4)
    RATE = "rate"  # exchange rate, stored as DECIMAL(18,8)
    DATE = "date"  # YYYY-MM-DD
    TIMESTAMP = "timestamp"  # ISO 8601, with or without offset
    BOOL = "bool"
    ENUM = "enum"  # one of `allowed`, compared case-insensitively
    PERIOD = "period"  # YYYY-MM
    TIMEZONE = "timezone"  # IANA zone name

    @property
    def sql_type(self) -> str:
        """DuckDB type the landed column is stored as."""
        return {
            ColumnType.INT: "BIGINT",
            ColumnType.DECIMAL: "DECIMAL(18,4)",
            ColumnType.QTY: "DECIMAL(18,4)",
            ColumnType.RATE: "DECIMAL(18,8)",
            ColumnType.DATE: "DATE",
            ColumnType.TIMESTAMP: "TIMESTAMP",
            ColumnType.BOOL: "BOOLEAN",
        }.get(self, "VARCHAR")


@dataclass(frozen=True)
class Column:
    """One column of a contract table."""

    name: str
    type: ColumnType
    required: bool = True  # False: the column may be absent from the file
    nullable: bool = False  # True: the value may be empty
    allowed: tuple[str, ...] = ()  # for ENUM
    min_value: float | None = None
    min_exclusive: bool = False  # True: value must be > min_value
    max_value: float | None = None
    description: str = ""

    @property
    def is_optional(self) -> bool:
        """The column may be absent or empty."""
        return not self.required


@dataclass(frozen=True)
class Reference:
    """A column (or columns) that must name a row of another landed table."""

    columns: tuple[str, ...]
    table: str
    target_columns: tuple[str, ...]


@dataclass(frozen=True)
class TimezoneSource:
    """Where a row's location time zone comes from, for naive timestamps and local dates.

    `via` is a chain of (table, join columns) hops from this table to a table
    that has `location_id`; empty when the table itself has `location_id`.
    `utc` marks tables with no location (close tasks): naive timestamps are UTC.
    """

    via: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    utc: bool = False


@dataclass(frozen=True)
class Table:
    """One canonical extract table."""

    name: str
    system: str  # erp, wms or tms
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    description: str
    grain: str  # "one row per ..."
    cursor: str | None = None  # the column whose newest value wins on re-delivery
    references: tuple[Reference, ...] = ()
    timezone: TimezoneSource = field(default_factory=TimezoneSource)
    # row-level consistency checks: (columns involved, SQL condition that must hold, reason)
    row_checks: tuple[tuple[tuple[str, ...], str, str], ...] = ()
    freshness_sla_hours: float = 26.0

    def column(self, name: str) -> Column:
        """The column called `name`."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"table {self.name} has no column {name!r}")

    @property
    def column_names(self) -> tuple[str, ...]:
        """Column names in contract order."""
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        """Columns that must be present in every file of this table."""
        return tuple(c.name for c in self.columns if c.required)

    @property
    def has_uom(self) -> bool:
        """Quantities are given in a per-row unit of measure."""
        return any(c.name == "uom" for c in self.columns)

    @property
    def timestamp_columns(self) -> tuple[str, ...]:
        """Timestamp columns, each landed as UTC plus a local calendar date."""
        return tuple(c.name for c in self.columns if c.type is ColumnType.TIMESTAMP)
