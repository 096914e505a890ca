"""The product's clock for tests: CONTROL_TOWER_NOW, set for the whole suite or for a block."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import pytest


def clock_setting(instant: datetime) -> str:
    """CONTROL_TOWER_NOW for a naive UTC instant."""
    return instant.isoformat() + "Z"


@contextmanager
def clock_at(instant: datetime) -> Iterator[None]:
    """The product's clock started at `instant` (naive UTC) inside the block."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CONTROL_TOWER_NOW", clock_setting(instant))
        yield


class ManualClock:
    """Seconds since the epoch that move only when a test says so (`clock.now += 60`): inject it
    where the product takes a `clock` callable (the web app's rate limits and idle sessions)."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now
