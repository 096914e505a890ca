"""SQL helpers the view queries share."""

from __future__ import annotations


def named(condition: str) -> str:
    """A `Scope.sql` condition with its `?` placeholders named $s0, $s1, ... in order (bind
    the scope's values as {"s0": ..., "s1": ...})."""
    parts = condition.split("?")
    return "".join(p + (f"$s{i}" if i < len(parts) - 1 else "") for i, p in enumerate(parts))
