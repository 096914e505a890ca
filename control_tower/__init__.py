"""Operational control tower for wholesale distributors."""

from __future__ import annotations

__version__ = "0.1.0"
