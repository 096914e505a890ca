"""The engine seam: what KPI materialisation and exception detection need of an engine."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import pyarrow as pa

ENGINES: tuple[str, ...] = ("duckdb", "spark")


class EngineError(RuntimeError):
    """The engine could not run a governed query (what ran, and why)."""


class Engine(Protocol):
    """Runs governed SQL (DuckDB dialect, `$name` parameters) and returns Arrow tables.

    `what` names the KPI or rule the SQL belongs to, for error messages.
    """

    name: str

    def query_arrow(self, sql: str, params: Mapping[str, Any], *, what: str) -> pa.Table:
        """The rows of `sql` with `params` bound."""
        ...

    def create_temp_view(
        self, name: str, sql: str, params: Mapping[str, Any], *, what: str
    ) -> None:
        """Keep the rows of `sql` under `name` for later queries of this engine (cached)."""
        ...

    def drop_temp_view(self, name: str) -> None:
        """Forget a view made by `create_temp_view` (no error when it does not exist)."""
        ...

    def close(self) -> None:
        """Release what the engine holds (a Spark session it started)."""
        ...
