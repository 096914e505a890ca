"""The client side of a SQL source: reading a database table's columns and rows as Arrow.

`SqlAlchemyClient` works over any SQLAlchemy URL (its driver must be
installed); tests and other databases can supply any `SourceClient`.
Connection errors are retried with exponential backoff by `with_retries`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol, TypeVar

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from control_tower.mappings.spec import SqlSource, SqlTable
from control_tower.settings import named_variable

log = logging.getLogger(__name__)

BACKOFF_FIRST_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 30.0
T = TypeVar("T")


class SqlSourceError(RuntimeError):
    """A SQL source could not be read; the message names the mapping, the source and why."""


class ConnectionFailedError(SqlSourceError):
    """The source database could not be reached, after every retry."""


class SourceClient(Protocol):
    """What a landing source needs from a database: a table's columns and its rows since a value."""

    def columns(self, table: SqlTable) -> pa.Schema:
        """The table's columns as an Arrow schema (raises when the table does not exist)."""
        ...

    def pull(
        self, table: SqlTable, schema: pa.Schema, lower: Any | None, chunk_rows: int
    ) -> Iterator[pa.RecordBatch]:
        """Rows with `cursor >= lower` (all rows when `lower` is None), in chunks."""
        ...


def _arrow_type(column_type: sa.types.TypeEngine) -> pa.DataType:
    """The Arrow type a reflected column is carried as (text for anything unusual)."""
    try:
        python_type = column_type.python_type
    except NotImplementedError:  # SQLAlchemy's answer for a type with no Python equivalent
        return pa.string()
    if python_type is bool:
        return pa.bool_()
    if python_type is int:
        return pa.int64()
    if python_type is float:
        return pa.float64()
    if python_type is Decimal:
        precision = getattr(column_type, "precision", None)
        scale = getattr(column_type, "scale", None)
        if precision and scale is not None and precision <= 38:
            return pa.decimal128(precision, scale)
        return pa.float64()  # NUMERIC without a declared scale: exact to 15 digits
    if python_type is datetime:
        return pa.timestamp("us", tz="UTC" if getattr(column_type, "timezone", False) else None)
    if python_type is date:
        return pa.date32()
    if python_type is str:
        return pa.string()
    return pa.string()


def _arrow_column(values: tuple[Any, ...], arrow_type: pa.DataType) -> pa.Array:
    if pa.types.is_floating(arrow_type):
        values = tuple(None if v is None else float(v) for v in values)
    elif pa.types.is_string(arrow_type):
        values = tuple(v if v is None or isinstance(v, str) else str(v) for v in values)
    return pa.array(values, type=arrow_type)


class SqlAlchemyClient:
    """A `SourceClient` over any SQLAlchemy URL (the driver must be installed)."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url, pool_pre_ping=True)

    def close(self) -> None:
        """Close the pooled connections."""
        self.engine.dispose()

    @staticmethod
    def _split(table: SqlTable) -> tuple[str | None, str]:
        schema, _, name = table.name.rpartition(".")
        return (schema or None), name

    def columns(self, table: SqlTable) -> pa.Schema:
        """The table's reflected columns as an Arrow schema."""
        schema, name = self._split(table)
        try:
            reflected = sa.inspect(self.engine).get_columns(name, schema=schema)
        except sa_exc.NoSuchTableError:
            reflected = []
        if not reflected:
            raise SqlSourceError(f"the source has no table {table.name!r}")
        return pa.schema([(c["name"], _arrow_type(c["type"])) for c in reflected])

    def pull(
        self, table: SqlTable, schema: pa.Schema, lower: Any | None, chunk_rows: int
    ) -> Iterator[pa.RecordBatch]:
        """Stream `SELECT columns FROM table [WHERE cursor >= :lower]` in Arrow chunks."""
        db_schema, name = self._split(table)
        source = sa.table(name, *(sa.column(n) for n in schema.names), schema=db_schema)
        stmt = sa.select(*source.c)
        if lower is not None:
            stmt = stmt.where(source.c[table.cursor] >= sa.bindparam("lower", lower))
        with self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, max_row_buffer=chunk_rows).execute(
                stmt
            )
            for rows in result.partitions(chunk_rows):
                columns = list(zip(*rows, strict=True)) if rows else [()] * len(schema)
                arrays = [
                    _arrow_column(tuple(vals), f.type)
                    for vals, f in zip(columns, schema, strict=True)
                ]
                yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def _is_connection_error(exc: BaseException) -> bool:
    """Errors worth retrying: the database could not be reached or the connection dropped."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError)


def source_url(source: SqlSource, environ: Mapping[str, str] | None = None) -> str:
    """The source's URL: from the mapping, or from CONTROL_TOWER_SOURCE_<NAME>_URL."""
    if source.url is not None:
        return source.url
    name = source.env_name
    assert name is not None
    url = ((environ.get(name) if environ is not None else named_variable(name)) or "").strip()
    if not url:
        raise SqlSourceError(f"the environment variable {name} (the connection's URL) is not set")
    return url


def redacted(url: str) -> str:
    """The URL with its password hidden, for messages and ops.batches."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is shown without anything after the scheme
        return url.split("://", 1)[0] + "://..."


def with_retries(
    action: Callable[[], T],
    *,
    retries: int,
    what: str,
    sleep: Callable[[float], None],
) -> T:
    """Run `action`, retrying connection errors with exponential backoff (0.5 s, 1 s, 2 s, ...)."""
    attempt = 0
    while True:
        try:
            return action()
        except sa_exc.SQLAlchemyError as exc:
            if not _is_connection_error(exc):
                raise SqlSourceError(f"{what}: {first_line(exc)}") from exc
            attempt += 1
            if attempt > retries:
                raise ConnectionFailedError(
                    f"{what}: could not connect after {attempt} attempt(s) "
                    f"(1 + {retries} retries): {first_line(exc)}"
                ) from exc
            delay = min(BACKOFF_FIRST_SECONDS * 2 ** (attempt - 1), BACKOFF_MAX_SECONDS)
            log.warning(
                "%s: connection error (attempt %d of %d), retrying in %.1f s: %s",
                what,
                attempt,
                retries + 1,
                delay,
                first_line(exc),
            )
            sleep(delay)


def first_line(exc: BaseException) -> str:
    """A driver error as one line: its type and the first line of its message."""
    inner = getattr(exc, "orig", None) or exc
    text = str(inner).strip()
    return f"{type(inner).__name__}: {text.splitlines()[0] if text else ''}"


def url_or_none(source: SqlSource, environ: Mapping[str, str] | None) -> str:
    """The redacted URL of the source, or the variable that should hold it."""
    try:
        return redacted(source_url(source, environ))
    except SqlSourceError:
        return f"${source.env_name}"
