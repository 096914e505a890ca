"""Demo users for `control-tower demo`: one per role, with random passwords kept in the data folder.

Passwords are generated on the first demo start and written to
`<home>/demo-credentials.json` (owner-only, 0600), so later starts print the
same credentials. A user that already exists keeps its password; if the file
does not know it (someone created the user by hand), it is listed as unchanged.
The warehouse supervisor is scoped to one site to show row scope at work. Besides one user
per role, `planner_lead` (a planner holding the planner_lead permission) approves what the
demo's approval rules reserve to a planner lead, so a request can be raised by one person and
approved by another; the executive holds kpi_owner, so the demo's drafts can be certified from
the KPI catalog.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from control_tower.accounts.models import ROLES, Scope
from control_tower.accounts.store import AccountStore
from control_tower.settings import Settings, private_dir

CREDENTIALS_FILE = "demo-credentials.json"
SUPERVISOR_SITE = "DC-NJ"  # the demo's congested site (control_tower.demo.config.SITES)
DEMO_SCOPES: dict[str, Scope] = {"warehouse_supervisor": Scope.of(locations=[SUPERVISOR_SITE])}
# name -> (role, permissions): one user per role named after it, and the planners' lead. The
# executive owns the KPI definitions (kpi_owner): they certify KPI versions in the catalog.
DEMO_USERS: dict[str, tuple[str, tuple[str, ...]]] = {
    **{role: (role, ()) for role in ROLES},
    "executive": ("executive", ("kpi_owner",)),
    "planner_lead": ("planner", ("planner_lead",)),
}


@dataclass(frozen=True)
class DemoUser:
    """A demo user as printed: the password is None when the demo does not know it."""

    name: str
    role: str
    scope: Scope
    password: str | None
    created: bool
    permissions: frozenset[str] = frozenset()


def credentials_path(settings: Settings) -> Path:
    """Where the demo keeps its users' passwords."""
    return settings.home / CREDENTIALS_FILE


def _read(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _write_private(path: Path, data: dict[str, str]) -> None:
    """Write a file only its owner can read, atomically."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
    os.replace(tmp, path)
    path.chmod(0o600)


def seed_demo_users(settings: Settings, accounts: AccountStore) -> list[DemoUser]:
    """Make sure every demo user exists (`DEMO_USERS`); the users and their passwords."""
    path = credentials_path(settings)
    known = _read(path)
    users: list[DemoUser] = []
    for name, (role, permissions) in DEMO_USERS.items():
        account = accounts.get(name)
        if account is not None:
            users.append(
                DemoUser(
                    name,
                    account.role,
                    account.scope,
                    known.get(name),
                    False,
                    account.permissions,
                )
            )
            continue
        password = known.get(name) or secrets.token_urlsafe(12)  # 16 characters, ~96 bits
        scope = DEMO_SCOPES.get(role, Scope())
        accounts.create_user(
            name, role, password, entities=scope.entities, locations=scope.locations
        )
        if permissions:
            accounts.set_permissions(name, permissions)
        known[name] = password
        users.append(DemoUser(name, role, scope, password, True, frozenset(permissions)))
    private_dir(settings.home)
    _write_private(path, known)
    return users
