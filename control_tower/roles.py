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

# Permissions a user may hold on top of their role (acct_users.permissions); approval rules
# name one to narrow who of a role may approve.
PERMISSION_MEANINGS: dict[str, str] = {
    "planner_lead": "leads the planners: approves the transfers and expedites the rules reserve",
    "kpi_owner": "owns KPI definitions and targets: answers for their alerts",
}
PERMISSIONS: tuple[str, ...] = tuple(PERMISSION_MEANINGS)
