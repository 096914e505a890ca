"""Helpers shared by the risk feature builders: capped cover ratios, frames as DuckDB views."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import polars as pl

# Caps keep ratios with tiny denominators (a slow mover's days of cover) in a usable range.
COVER_CAP = 90.0


def cover(qty: pl.Expr, demand: pl.Expr) -> pl.Expr:
    """Days that `qty` lasts at `demand` a day, capped; the cap when there is no demand."""
    return (
        pl.when(demand > 0)
        .then(qty / demand)
        .otherwise(pl.when(qty > 0).then(COVER_CAP).otherwise(0.0))
        .clip(-COVER_CAP, COVER_CAP)
    )


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> Iterator[None]:
    """Inside the block, `frame` is the DuckDB view `name`."""
    con.complete()  # DuckDB registers no frame beside an unread result
    con.register(name, frame.to_arrow())
    try:
        yield
    finally:
        con.unregister(name)
