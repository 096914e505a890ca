"""`control-tower demo`'s users: one per role, random passwords kept owner-only, stable across starts."""

from __future__ import annotations

import stat

from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST

from control_tower.accounts import ROLES, AccountStore, Scope
from control_tower.accounts.demo import credentials_path, seed_demo_users
from control_tower.settings import load_settings


def test_one_user_per_role_with_a_private_stable_password(tmp_path):
    settings = load_settings(tmp_path)
    hasher = PasswordHasher.from_parameters(CHEAPEST)
    with AccountStore.open(settings.app_db_url, hasher=hasher) as store:
        first = seed_demo_users(settings, store)
        again = seed_demo_users(settings, store)
        assert [u.name for u in first] == [*ROLES, "planner_lead"]
        assert all(u.created for u in first)
        assert not any(u.created for u in again)
        assert [u.password for u in again] == [u.password for u in first]
        assert len({u.password for u in first}) == len(first)  # random, not a fixed password
        for user in first:
            assert store.authenticate(user.name, user.password).ok
        assert store.get("warehouse_supervisor").scope == Scope.of(locations=["DC-NJ"])
        lead = store.get("planner_lead")
        assert (lead.role, lead.permissions) == ("planner", {"planner_lead"})
        assert store.get("planner").permissions == frozenset()
        assert store.get("executive").permissions == {"kpi_owner"}  # certifies KPI versions
    mode = stat.S_IMODE(credentials_path(settings).stat().st_mode)
    assert mode == 0o600


def test_a_user_made_by_hand_keeps_its_password(tmp_path):
    settings = load_settings(tmp_path)
    hasher = PasswordHasher.from_parameters(CHEAPEST)
    with AccountStore.open(settings.app_db_url, hasher=hasher) as store:
        store.create_user("admin", "admin", "chosen by a person")
        admin = next(u for u in seed_demo_users(settings, store) if u.name == "admin")
        assert admin.password is None
        assert store.authenticate("admin", "chosen by a person").ok
