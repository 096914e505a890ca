"""The SQL an app sends to its serving snapshots, for tests that count what a page reads."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from control_tower.storage.serving import ServingStore
from control_tower.web.runtime import WebContext

_QUERYING = ("execute", "executemany", "sql", "query")


class _LoggedCursor:
    """A DuckDB cursor that notes the SQL of each statement before running it."""

    def __init__(self, cur: Any, log: list[str]) -> None:
        self._cur = cur
        self._log = log

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._cur, name)
        if name not in _QUERYING:
            return attr

        def logged(sql: str, *args: Any, **kwargs: Any) -> Any:
            self._log.append(" ".join(str(sql).split()))
            return attr(sql, *args, **kwargs)

        return logged


class _LoggedStore:
    """A serving store whose cursors note their SQL in `log`."""

    def __init__(self, store: ServingStore, log: list[str]) -> None:
        self._store = store
        self._log = log

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    @contextmanager
    def cursor(self) -> Iterator[Any]:
        with self._store.cursor() as cur:
            yield _LoggedCursor(cur, self._log)


@contextmanager
def logged_queries(context: WebContext) -> Iterator[list[str]]:
    """Within the block, every statement the app's requests send to the serving snapshot, in
    order (whitespace collapsed)."""
    log: list[str] = []
    store = context.store
    context.store = _LoggedStore(store, log)  # type: ignore[assignment]
    try:
        yield log
    finally:
        context.store = store
