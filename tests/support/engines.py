"""Helpers of the engine tests."""

from __future__ import annotations

from control_tower.engine_cli import new_warehouse_schema as warehouse_schema

__all__ = ["warehouse_schema"]
