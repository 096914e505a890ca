"""Accounts: who may sign in, with which role and which rows (scope).

- `models`: the tables (users, API tokens, sign-in sessions), `Scope` and `Account`.
- `store`: `AccountStore`: create users, authenticate with lockout, tokens, sessions.
- `cli`: `control-tower users ...`.
- `demo`: one user per role for `control-tower demo`.

The web app's use of them lives in `control_tower.web.signin` (sign-in pages, throttling,
sessions) and `control_tower.web.auth` (`require`).
"""

from __future__ import annotations

from control_tower.accounts.models import ROLES, Account, Scope, TokenInfo
from control_tower.accounts.store import (
    AccountError,
    AccountStore,
    AuthResult,
    DuplicateUserError,
    Policy,
    UnknownRoleError,
    UnknownUserError,
    WeakPasswordError,
    check_password,
)

__all__ = [
    "ROLES",
    "Account",
    "AccountError",
    "AccountStore",
    "AuthResult",
    "DuplicateUserError",
    "Policy",
    "Scope",
    "TokenInfo",
    "UnknownRoleError",
    "UnknownUserError",
    "WeakPasswordError",
    "check_password",
]
