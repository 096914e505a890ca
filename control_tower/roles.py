"""The roles a user can have: the one list, shared by accounts, exception owners and pages.

Kept free of any import so that declarations at the bottom of the code base (the exception
type registry) can name their owners. Use it as `control_tower.accounts.ROLES`.
"""

from __future__ import annotations

ROLES: tuple[str, ...] = (
    "executive",
    "warehouse_supervisor",
    "planner",
    "customer_service",
    "finance",
    "admin",
)
