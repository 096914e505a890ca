"""`control-tower users ...`: what each command does, prints and refuses."""

from __future__ import annotations

from pathlib import Path

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from click.testing import CliRunner

from control_tower.accounts import AccountStore, Scope
from control_tower.accounts import store as store_module
from control_tower.cli import main
from control_tower.settings import load_settings

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch):
    """Production argon2id parameters cost about a second a hash here."""
    monkeypatch.setattr(
        store_module, "PasswordHasher", lambda: PasswordHasher.from_parameters(CHEAPEST)
    )


def users(home: Path, *args: str, stdin: str | None = None):
    return CliRunner().invoke(main, ["--home", str(home), "users", *args], input=stdin)


def accounts(home: Path) -> AccountStore:
    return AccountStore.for_settings(load_settings(home))


class TestAdd:
    def test_adds_a_user_with_role_and_scope(self, tmp_path):
        result = users(
            tmp_path,
            "add",
            "sue",
            "--role",
            "warehouse_supervisor",
            "--scope",
            "location:DC-NJ,entity:US01",
            "--password-stdin",
            stdin=PASSWORD + "\n",
        )
        assert result.exit_code == 0, result.output
        assert "Added sue (warehouse_supervisor" in result.output
        with accounts(tmp_path) as store:
            assert store.get("sue").scope == Scope.of(["US01"], ["DC-NJ"])
            assert store.authenticate("sue", PASSWORD).ok

    def test_bare_scope_ids_are_looked_up_and_refused_when_unknown(self, tmp_path):
        result = users(
            tmp_path, "add", "sue", "--role", "planner", "--scope", "DC-NJ", "--password-stdin",
            stdin=PASSWORD,
        )  # fmt: skip
        assert result.exit_code == 2
        assert "'DC-NJ' is no known entity or location (no data landed yet)" in result.output
        assert "location:DC-NJ" in result.output

    def test_unknown_role(self, tmp_path):
        result = users(tmp_path, "add", "ann", "--role", "boss", "--password-stdin", stdin=PASSWORD)
        assert result.exit_code == 2
        assert "unknown role 'boss'" in result.output

    def test_duplicate_user(self, tmp_path):
        users(tmp_path, "add", "ann", "--role", "planner", "--password-stdin", stdin=PASSWORD)
        result = users(
            tmp_path, "add", "ann", "--role", "finance", "--password-stdin", stdin=PASSWORD
        )
        assert result.exit_code == 1
        assert "a user named 'ann' already exists" in result.output

    @pytest.mark.parametrize(
        ("stdin", "message"), [("\n", "the password is empty"), ("short\n", "use at least 12")]
    )
    def test_weak_or_empty_password(self, tmp_path, stdin, message):
        result = users(tmp_path, "add", "ann", "--role", "planner", "--password-stdin", stdin=stdin)
        assert result.exit_code == 1
        assert message in result.output
        assert "Traceback" not in result.output


class TestManage:
    @pytest.fixture
    def home(self, tmp_path) -> Path:
        for name, role in (("ann", "planner"), ("root", "admin")):
            users(tmp_path, "add", name, "--role", role, "--password-stdin", stdin=PASSWORD)
        return tmp_path

    def test_list_shows_role_scope_and_state(self, home):
        users(home, "disable", "ann")
        result = users(home, "list")
        assert result.exit_code == 0
        lines = {line.split()[1]: line for line in result.output.splitlines() if "│" in line}
        assert "planner" in lines["ann"]
        assert "disabled" in lines["ann"]
        assert "active" in lines["root"]
        assert "all" in lines["root"]

    def test_list_when_empty_says_how_to_add(self, tmp_path):
        assert "users add NAME --role admin" in users(tmp_path, "list").output

    def test_disable_stops_sign_in(self, home):
        assert users(home, "disable", "ann").exit_code == 0
        with accounts(home) as store:
            assert store.authenticate("ann", PASSWORD).reason == "disabled"
        assert users(home, "enable", "ann").exit_code == 0
        with accounts(home) as store:
            assert store.authenticate("ann", PASSWORD).ok

    def test_disable_an_unknown_user(self, home):
        result = users(home, "disable", "bob")
        assert result.exit_code == 1
        assert "no user named 'bob'" in result.output

    def test_set_password(self, home):
        result = users(
            home, "set-password", "ann", "--password-stdin", stdin="a new long password\n"
        )
        assert result.exit_code == 0, result.output
        with accounts(home) as store:
            assert store.authenticate("ann", "a new long password").ok
        weak = users(home, "set-password", "ann", "--password-stdin", stdin="short\n")
        assert weak.exit_code == 1
        assert "use at least 12" in weak.output
        nobody = users(home, "set-password", "bob", "--password-stdin", stdin=PASSWORD)
        assert "no user named 'bob'" in nobody.output

    def test_token_is_printed_once_and_can_be_revoked(self, home):
        result = users(home, "token", "ann")
        assert result.exit_code == 0
        token = result.stdout.strip()
        assert token.startswith("ct_")
        assert "cannot be shown again" in result.stderr
        with accounts(home) as store:
            assert store.verify_token(token).name == "ann"
            assert token not in repr(store.list_tokens())
        assert users(home, "revoke-token", "1").exit_code == 0
        with accounts(home) as store:
            assert store.verify_token(token) is None
        again = users(home, "revoke-token", "1")
        assert again.exit_code == 1
        assert "no live token #1" in again.output
