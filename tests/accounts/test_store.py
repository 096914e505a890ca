"""The account store: password hashing, lockout, disabled users, API tokens, sessions, scope.

Each test gets an in-memory app database and a cheap argon2id hasher
(production parameters cost about a second a hash on this machine).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from sqlalchemy import select

from control_tower.accounts import (
    AccountError,
    AccountStore,
    DuplicateUserError,
    Policy,
    Scope,
    UnknownRoleError,
    UnknownUserError,
    WeakPasswordError,
)
from control_tower.accounts.models import ApiToken, User

T0 = datetime(2025, 3, 1, 9, 0)
PASSWORD = "correct horse battery"


@pytest.fixture
def store() -> AccountStore:
    policy = Policy(max_attempts=5, lockout=timedelta(minutes=15))
    with AccountStore.open(
        "sqlite://", policy=policy, hasher=PasswordHasher.from_parameters(CHEAPEST)
    ) as s:
        yield s


def _hash_of(store: AccountStore, name: str) -> str:
    with store._sessions() as s:
        return s.query(User).filter_by(name=name).one().password_hash


class TestCreateUser:
    def test_password_is_stored_as_an_argon2id_hash(self, store):
        store.create_user("ann", "planner", PASSWORD, now=T0)
        stored = _hash_of(store, "ann")
        assert stored.startswith("$argon2id$")
        assert PASSWORD not in stored

    def test_role_scope_and_times_are_kept(self, store):
        account = store.create_user(
            "sue", "warehouse_supervisor", PASSWORD, locations=["DC-NJ", " DC-NJ"], now=T0
        )
        assert account.role == "warehouse_supervisor"
        assert account.scope == Scope.of(locations=["DC-NJ"])
        assert account.created_at == T0
        assert account.last_login_at is None
        assert [a.name for a in store.list_users()] == ["sue"]

    def test_unknown_role_names_the_valid_ones(self, store):
        with pytest.raises(UnknownRoleError, match="choose one of executive, warehouse_supervisor"):
            store.create_user("ann", "boss", PASSWORD)

    def test_duplicate_name_is_refused(self, store):
        store.create_user("ann", "planner", PASSWORD)
        with pytest.raises(DuplicateUserError, match="'ann' already exists"):
            store.create_user("ann", "finance", PASSWORD)

    @pytest.mark.parametrize(
        ("password", "message"),
        [
            ("", "empty"),
            ("            ", "empty"),
            ("eleven char", "11 characters long; use at least 12"),
            ("aaaaaaaaaaaaaaaa", "too few different characters"),
            ("x" * 1025, "longer than 1024"),
        ],
    )
    def test_weak_passwords_are_refused(self, store, password, message):
        with pytest.raises(WeakPasswordError, match=message):
            store.create_user("ann", "planner", password)

    def test_admin_takes_no_scope(self, store):
        with pytest.raises(AccountError, match="admin sees the whole installation"):
            store.create_user("root", "admin", PASSWORD, entities=["US01"])

    def test_bad_names_are_refused(self, store):
        with pytest.raises(AccountError, match="user name"):
            store.create_user("ann smith", "planner", PASSWORD)


class TestAuthenticate:
    def test_right_password_signs_in_and_stamps_the_time(self, store):
        store.create_user("ann", "planner", PASSWORD, now=T0)
        result = store.authenticate("ann", PASSWORD, now=T0 + timedelta(hours=1))
        assert result.ok
        assert result.account.name == "ann"
        assert store.get("ann").last_login_at == T0 + timedelta(hours=1)

    def test_reasons_are_clear(self, store):
        store.create_user("ann", "planner", PASSWORD)
        assert store.authenticate("ann", "wrong password!").reason == "bad_password"
        assert store.authenticate("bob", PASSWORD).reason == "unknown_user"
        store.disable("ann")
        assert store.authenticate("ann", PASSWORD).reason == "disabled"

    def test_five_failures_lock_the_account_for_fifteen_minutes(self, store):
        store.create_user("ann", "planner", PASSWORD)
        reasons = [
            store.authenticate("ann", "wrong", now=T0 + timedelta(seconds=i)).reason
            for i in range(5)
        ]
        assert reasons == ["bad_password"] * 4 + ["locked"]
        locked = store.get("ann")
        assert locked.locked_until == T0 + timedelta(seconds=4, minutes=15)
        # Even the right password is refused while locked ...
        assert store.authenticate("ann", PASSWORD, now=T0 + timedelta(minutes=10)).reason == (
            "locked"
        )
        # ... and accepted once the lockout is over, which clears the count.
        after = store.authenticate("ann", PASSWORD, now=T0 + timedelta(minutes=16))
        assert after.ok
        assert store.get("ann").failed_attempts == 0
        assert store.get("ann").locked_until is None

    def test_a_success_resets_the_failure_count(self, store):
        store.create_user("ann", "planner", PASSWORD)
        for _ in range(4):
            store.authenticate("ann", "wrong", now=T0)
        assert store.authenticate("ann", PASSWORD, now=T0).ok
        for _ in range(4):
            assert store.authenticate("ann", "wrong", now=T0).reason == "bad_password"

    def test_lockout_threshold_comes_from_the_policy(self):
        policy = Policy(max_attempts=2, lockout=timedelta(minutes=1))
        hasher = PasswordHasher.from_parameters(CHEAPEST)
        with AccountStore.open("sqlite://", policy=policy, hasher=hasher) as store:
            store.create_user("ann", "planner", PASSWORD)
            assert store.authenticate("ann", "x", now=T0).reason == "bad_password"
            assert store.authenticate("ann", "x", now=T0).reason == "locked"
            assert store.authenticate("ann", PASSWORD, now=T0 + timedelta(minutes=2)).ok

    def test_set_password_replaces_it_and_clears_a_lockout(self, store):
        store.create_user("ann", "planner", PASSWORD)
        for _ in range(5):
            store.authenticate("ann", "wrong")
        store.set_password("ann", "a brand new password")
        assert store.authenticate("ann", PASSWORD).reason == "bad_password"
        assert store.authenticate("ann", "a brand new password").ok

    def test_set_password_of_nobody_is_an_error(self, store):
        with pytest.raises(UnknownUserError):
            store.set_password("bob", PASSWORD)

    def test_an_enabled_user_signs_in_again(self, store):
        store.create_user("ann", "planner", PASSWORD)
        store.disable("ann")
        store.enable("ann")
        assert store.authenticate("ann", PASSWORD).ok

    def test_hashes_made_with_old_parameters_are_upgraded_on_sign_in(self, store):
        store.create_user("ann", "planner", PASSWORD)
        assert "m=8,t=1,p=1" in _hash_of(store, "ann")  # argon2's CHEAPEST profile
        store.hasher = PasswordHasher(time_cost=2, memory_cost=1024, parallelism=1)
        assert store.authenticate("ann", PASSWORD).ok
        assert "m=1024,t=2,p=1" in _hash_of(store, "ann")


class TestTokens:
    def test_a_token_is_shown_once_and_stored_hashed(self, store):
        store.create_user("ann", "planner", PASSWORD)
        token, info = store.issue_token("ann", label="laptop", now=T0)
        assert token.startswith("ct_")
        assert len(token) > 40
        assert token.startswith(info.prefix)
        with store._sessions() as s:
            stored = s.scalars(select(ApiToken)).one()
        assert token not in (stored.digest, stored.prefix, stored.label)
        assert stored.digest == hashlib.sha256(token.encode()).hexdigest()

    def test_verify_returns_the_account_and_records_use(self, store):
        store.create_user("ann", "planner", PASSWORD, entities=["US01"])
        token, _info = store.issue_token("ann")
        account = store.verify_token(token, now=T0)
        assert account.name == "ann"
        assert account.scope == Scope.of(entities=["US01"])
        assert store.list_tokens("ann")[0].last_used_at == T0

    def test_unknown_revoked_or_disabled_tokens_get_nothing(self, store):
        store.create_user("ann", "planner", PASSWORD)
        token, info = store.issue_token("ann")
        assert store.verify_token(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
        assert store.verify_token("") is None
        assert store.verify_token("not-a-token") is None
        assert store.revoke_token(info.id)
        assert not store.revoke_token(info.id)  # already revoked
        assert store.verify_token(token) is None
        second, _ = store.issue_token("ann")
        store.disable("ann")
        assert store.verify_token(second) is None

    def test_a_disabled_user_gets_no_new_token(self, store):
        store.create_user("ann", "planner", PASSWORD)
        store.disable("ann")
        with pytest.raises(AccountError, match="disabled"):
            store.issue_token("ann")


class TestSessions:
    def test_a_session_holds_until_it_ends(self, store):
        account = store.create_user("ann", "planner", PASSWORD)
        sid = store.start_session(account, now=T0)
        assert store.session_account(sid, now=T0).name == "ann"
        store.end_session(sid)
        assert store.session_account(sid, now=T0) is None

    def test_a_session_expires_after_its_lifetime(self, store):
        account = store.create_user("ann", "planner", PASSWORD)
        sid = store.start_session(account, now=T0)
        assert store.session_account(sid, now=T0 + timedelta(hours=11)) is not None
        assert store.session_account(sid, now=T0 + timedelta(hours=12)) is None

    def test_new_password_or_disabling_ends_every_session(self, store):
        account = store.create_user("ann", "planner", PASSWORD)
        first, second = store.start_session(account), store.start_session(account)
        store.set_password("ann", "a brand new password")
        assert store.session_account(first) is None
        assert store.session_account(second) is None
        third = store.start_session(account)
        store.disable("ann")
        assert store.session_account(third) is None


class TestScope:
    def test_empty_means_everything(self):
        assert Scope().is_all
        assert Scope().allows("US01", "DC-NJ")
        assert Scope().sql() == ("TRUE", [])

    def test_entities_and_locations_both_apply(self):
        scope = Scope.of(entities=["US01"], locations=["DC-NJ", "DC-CHI"])
        assert scope.allows("US01", "DC-NJ")
        assert not scope.allows("NL01", "DC-NJ")
        assert not scope.allows("US01", "DC-RNO")
        assert scope.sql("o.entity_id", "o.location_id") == (
            "o.entity_id IN (?) AND o.location_id IN (?, ?)",
            ["US01", "DC-CHI", "DC-NJ"],
        )

    def test_a_restriction_on_a_missing_dimension_matches_nothing(self):
        assert Scope.of(locations=["DC-NJ"]).sql(location_column=None) == ("FALSE", [])
        assert Scope.of(entities=["US01"]).sql(location_column=None) == (
            "entity_id IN (?)",
            ["US01"],
        )
