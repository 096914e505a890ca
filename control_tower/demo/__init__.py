"""Deterministic demo data generator (see `control_tower.demo.generator`).

`generate`, `GenerateReport`, `SCALES` and `Scale` are loaded on first use, so
importing a sibling module (e.g. `control_tower.demo.run`) stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from control_tower.demo.config import SCALES, Scale
    from control_tower.demo.generator import GenerateReport, generate

__all__ = ["SCALES", "GenerateReport", "Scale", "generate"]


def __getattr__(name: str) -> Any:
    if name in ("SCALES", "Scale"):
        from control_tower.demo import config

        return getattr(config, name)
    if name in ("GenerateReport", "generate"):
        from control_tower.demo import generator

        return getattr(generator, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
