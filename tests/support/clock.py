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
