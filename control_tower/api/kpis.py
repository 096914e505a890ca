"""API routes for kpis (being written)."""

from __future__ import annotations

import flask


def register(blueprint: flask.Blueprint) -> None:
    """Add the kpis routes to the API blueprint."""
