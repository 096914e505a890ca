"""API routes for exceptions (being written)."""

from __future__ import annotations

import flask


def register(blueprint: flask.Blueprint) -> None:
    """Add the exceptions routes to the API blueprint."""
