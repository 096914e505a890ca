"""Accounts in the app database: create users, check passwords with lockout, tokens and sessions.

Opening a store brings the app database to this release's schema (Alembic migrations,
`control_tower.storage.migrate`).

Passwords are hashed with argon2id (argon2-cffi's RFC 9106 defaults) and
rehashed on sign-in when those parameters change. `authenticate` spends one
hash verification whatever the outcome (unknown user, locked, disabled), so
its timing does not tell which names exist. After `Policy.max_attempts`
consecutive failures an account is locked for `Policy.lockout`; a successful
sign-in, a new password or re-enabling the account clears the count.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from control_tower.accounts.models import (
    ROLES,
    Account,
    ApiToken,
    LoginSession,
    TokenInfo,
    User,
)
from control_tower.roles import PERMISSIONS
from control_tower.settings import Settings
from control_tower.storage.appdb import AppDatabase, open_app_engine

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = (
    1024  # argon2 takes any length; a bound keeps a request from hashing megabytes
)
TOKEN_PREFIX = "ct_"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$")
TOKEN_TOUCH_EVERY = timedelta(minutes=1)  # last_used_at precision: one write a minute at most

Reason = Literal["ok", "unknown_user", "bad_password", "locked", "disabled"]


class AccountError(ValueError):
    """An account operation cannot be done; the message says why."""


class UnknownRoleError(AccountError):
    """A role outside ROLES."""


class DuplicateUserError(AccountError):
    """A user with this name already exists."""


class UnknownUserError(AccountError):
    """No user has this name."""


class WeakPasswordError(AccountError):
    """A password the policy refuses."""


@dataclass(frozen=True)
class Policy:
    """Sign-in rules: lockout threshold and duration, session lifetime, password length."""

    max_attempts: int = 5
    lockout: timedelta = timedelta(minutes=15)
    session_lifetime: timedelta = timedelta(hours=12)
    min_password_length: int = MIN_PASSWORD_LENGTH

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        """The policy an installation's settings ask for."""
        return cls(
            max_attempts=settings.login_max_attempts,
            lockout=timedelta(minutes=settings.lockout_minutes),
            session_lifetime=timedelta(hours=settings.session_hours),
        )


@dataclass(frozen=True)
class AuthResult:
    """The outcome of a sign-in attempt; `reason` is for logs, never shown to the person."""

    reason: Reason
    account: Account | None = None
    locked_until: datetime | None = None

    @property
    def ok(self) -> bool:
        """True when the person is signed in."""
        return self.reason == "ok"


def utc_now() -> datetime:
    """Now as naive UTC, like every time in the app database."""
    return datetime.now(UTC).replace(tzinfo=None)


def check_role(role: str) -> str:
    """The role, or UnknownRoleError naming the valid ones."""
    if role not in ROLES:
        raise UnknownRoleError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    return role


def check_password(password: str, *, min_length: int = MIN_PASSWORD_LENGTH) -> str:
    """The password, or WeakPasswordError saying what is wrong with it."""
    if not password or not password.strip():
        raise WeakPasswordError("the password is empty")
    if len(password) < min_length:
        raise WeakPasswordError(
            f"the password is {len(password)} characters long; use at least {min_length}"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPasswordError(f"the password is longer than {MAX_PASSWORD_LENGTH} characters")
    if len(set(password)) < 4:
        raise WeakPasswordError("the password repeats too few different characters")
    return password


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _clean_ids(ids: Iterable[str], what: str) -> list[str]:
    cleaned = sorted({i.strip() for i in ids if i and i.strip()})
    for i in cleaned:
        if len(i) > 64 or any(c.isspace() or c == "," for c in i):
            raise AccountError(f"{what} id {i!r} is not an id")
    return cleaned


def _credential(s: Session, model: type[ApiToken] | type[LoginSession], secret: str) -> Any:
    """The stored token or sign-in session whose digest matches `secret`, with its user
    (a row of two), or None."""
    return s.execute(
        select(model, User)
        .join(User, User.id == model.user_id)
        .where(model.digest == _digest(secret))
    ).first()


class AccountStore(AppDatabase):
    """Users, API tokens and sign-in sessions of one app database."""

    def __init__(
        self, engine: Engine, *, policy: Policy | None = None, hasher: PasswordHasher | None = None
    ) -> None:
        super().__init__(engine)
        self.policy = policy or Policy()
        self.hasher = hasher or PasswordHasher()  # argon2id, RFC 9106 low-memory profile
        self._dummy_hash: str | None = None

    @classmethod
    def open(
        cls, url: str, *, policy: Policy | None = None, hasher: PasswordHasher | None = None
    ) -> AccountStore:
        """Connect to the app database at `url`, upgraded to this release's schema."""
        return cls(open_app_engine(url), policy=policy, hasher=hasher)

    @classmethod
    def for_settings(cls, settings: Settings) -> AccountStore:
        """The account store of an installation, with its sign-in policy."""
        return cls.open(settings.app_db_url, policy=Policy.from_settings(settings))

    def _user(self, s: Session, name: str, *, lock: bool = False) -> User:
        query = select(User).where(User.name == name)
        if lock:
            query = query.with_for_update()
        user = s.scalars(query).first()
        if user is None:
            raise UnknownUserError(f"no user named {name!r}")
        return user

    # --- users ------------------------------------------------------------------------------

    def create_user(
        self,
        name: str,
        role: str,
        password: str,
        *,
        entities: Iterable[str] = (),
        locations: Iterable[str] = (),
        now: datetime | None = None,
    ) -> Account:
        """Add a user; raises AccountError (unknown role, duplicate name, weak password)."""
        if not NAME_PATTERN.match(name or ""):
            raise AccountError(
                f"user name {name!r} must be 1 to 128 letters, digits or . _ @ - "
                "and start with a letter or digit"
            )
        check_role(role)
        check_password(password, min_length=self.policy.min_password_length)
        entity_ids = _clean_ids(entities, "entity")
        location_ids = _clean_ids(locations, "location")
        if role == "admin" and (entity_ids or location_ids):
            raise AccountError("an admin sees the whole installation: give no scope")
        now = now or utc_now()
        user = User(
            name=name,
            role=role,
            entity_ids=entity_ids,
            location_ids=location_ids,
            disabled=False,
            password_hash=self.hasher.hash(password),
            failed_attempts=0,
            created_at=now,
            password_changed_at=now,
        )
        try:
            with self.session() as s:
                s.add(user)
        except IntegrityError:
            raise DuplicateUserError(f"a user named {name!r} already exists") from None
        return Account.from_row(user)

    def get(self, name: str) -> Account | None:
        """The user with this name, or None."""
        with self._sessions() as s:
            user = s.scalars(select(User).where(User.name == name)).first()
            return Account.from_row(user) if user else None

    def list_users(self) -> list[Account]:
        """Every user, by name."""
        with self._sessions() as s:
            return [Account.from_row(u) for u in s.scalars(select(User).order_by(User.name))]

    def set_password(self, name: str, password: str, *, now: datetime | None = None) -> None:
        """Replace a password; clears a lockout and ends the user's signed-in sessions."""
        check_password(password, min_length=self.policy.min_password_length)
        hashed = self.hasher.hash(password)
        now = now or utc_now()
        with self.session() as s:
            user = self._user(s, name, lock=True)
            user.password_hash = hashed
            user.password_changed_at = now
            user.failed_attempts = 0
            user.locked_until = None
            self._end_sessions(s, user.id, now)

    def disable(self, name: str, *, now: datetime | None = None) -> Account:
        """Stop a user from signing in or using tokens; ends their signed-in sessions."""
        now = now or utc_now()
        with self.session() as s:
            user = self._user(s, name, lock=True)
            user.disabled = True
            self._end_sessions(s, user.id, now)
            return Account.from_row(user)

    def enable(self, name: str) -> Account:
        """Let a disabled user sign in again (and clear any lockout)."""
        with self.session() as s:
            user = self._user(s, name, lock=True)
            user.disabled = False
            user.failed_attempts = 0
            user.locked_until = None
            return Account.from_row(user)

    def set_permissions(self, name: str, permissions: Iterable[str]) -> Account:
        """Replace a user's permissions (each one of PERMISSIONS); the account after."""
        wanted = sorted(set(permissions))
        unknown = [p for p in wanted if p not in PERMISSIONS]
        if unknown:
            raise AccountError(
                f"unknown permission {unknown[0]!r}: choose among {', '.join(PERMISSIONS)}"
            )
        with self.session() as s:
            user = self._user(s, name, lock=True)
            user.permissions = wanted
            return Account.from_row(user)

    def grant(self, name: str, permission: str) -> Account:
        """Add one permission to a user (no change when they hold it already)."""
        account = self.get(name)
        if account is None:
            raise UnknownUserError(f"no user named {name!r}")
        return self.set_permissions(name, {*account.permissions, permission})

    def revoke(self, name: str, permission: str) -> Account:
        """Take one permission from a user (no change when they do not hold it)."""
        account = self.get(name)
        if account is None:
            raise UnknownUserError(f"no user named {name!r}")
        return self.set_permissions(name, account.permissions - {permission})

    # --- passwords --------------------------------------------------------------------------

    def _dummy(self) -> str:
        """A hash to verify against when the name is unknown: costs what a wrong password costs."""
        if self._dummy_hash is None:
            self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))
        return self._dummy_hash

    def _verify(self, hashed: str, password: str) -> bool:
        try:
            return self.hasher.verify(hashed, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def authenticate(
        self,
        name: str,
        password: str,
        *,
        now: datetime | None = None,
        honour_lockout: bool = True,
    ) -> AuthResult:
        """Check a name and password, counting failures towards a lockout.

        `honour_lockout=False` checks the password of a locked account all the same
        (the web app does so for a client address that has not failed: a lockout
        caused by someone else must not keep the owner out); failures still count."""
        now = now or utc_now()
        password = password[: MAX_PASSWORD_LENGTH + 1]
        with self._sessions() as s:
            user = s.scalars(select(User).where(User.name == name)).first()
            stored = user.password_hash if user else self._dummy()
        matches = self._verify(stored, password)  # always one verification, whatever follows
        if user is None:
            return AuthResult("unknown_user")
        with self.session() as s:
            user = self._user(s, name, lock=True)
            if user.locked_until is not None and user.locked_until <= now:
                user.locked_until = None  # the lockout is over: a fresh count starts
                user.failed_attempts = 0
            if user.disabled:
                return AuthResult("disabled")
            if user.locked_until is not None and honour_lockout:
                return AuthResult("locked", locked_until=user.locked_until)
            if not matches:
                user.failed_attempts += 1
                if user.failed_attempts >= self.policy.max_attempts:
                    user.locked_until = now + self.policy.lockout
                    return AuthResult("locked", locked_until=user.locked_until)
                return AuthResult("bad_password")
            user.failed_attempts = 0
            user.locked_until = None
            user.last_login_at = now
            if self.hasher.check_needs_rehash(user.password_hash):
                user.password_hash = self.hasher.hash(password)
            return AuthResult("ok", Account.from_row(user))

    # --- API tokens -------------------------------------------------------------------------

    def issue_token(
        self, name: str, *, label: str = "", now: datetime | None = None
    ) -> tuple[str, TokenInfo]:
        """A new personal API token for a user: the token (shown once, kept only hashed) and its record."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = now or utc_now()
        with self.session() as s:
            user = self._user(s, name)
            if user.disabled:
                raise AccountError(f"user {name!r} is disabled")
            row = ApiToken(
                user_id=user.id,
                digest=_digest(token),
                prefix=token[: len(TOKEN_PREFIX) + 6],
                label=label[:128],
                created_at=now,
            )
            s.add(row)
        return token, TokenInfo(row.id, name, row.prefix, row.label, now, None, None)

    def verify_token(self, token: str, *, now: datetime | None = None) -> Account | None:
        """The account a token belongs to, or None (unknown, revoked, or user disabled)."""
        if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 128:
            return None
        now = now or utc_now()
        with self.session() as s:
            found = _credential(s, ApiToken, token)
            if found is None:
                return None
            row, user = found
            if row.revoked_at is not None or user.disabled:
                return None
            if row.last_used_at is None or now - row.last_used_at >= TOKEN_TOUCH_EVERY:
                row.last_used_at = now
            return Account.from_row(user)

    def revoke_token(self, token_id: int, *, now: datetime | None = None) -> bool:
        """Revoke a token by its id; False if there is no such live token."""
        with self.session() as s:
            result = s.execute(
                update(ApiToken)
                .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
                .values(revoked_at=now or utc_now())
            )
            return result.rowcount == 1

    def list_tokens(self, name: str | None = None) -> list[TokenInfo]:
        """Tokens (of one user, or all), oldest first; never the tokens themselves."""
        query = select(ApiToken, User.name).join(User, User.id == ApiToken.user_id)
        if name is not None:
            query = query.where(User.name == name)
        with self._sessions() as s:
            return [
                TokenInfo(t.id, user, t.prefix, t.label, t.created_at, t.last_used_at, t.revoked_at)
                for t, user in s.execute(query.order_by(ApiToken.id))
            ]

    # --- sign-in sessions -------------------------------------------------------------------

    def start_session(self, account: Account, *, now: datetime | None = None) -> str:
        """A new sign-in session for an authenticated account; returns its id (for the cookie)."""
        session_id = secrets.token_urlsafe(32)
        now = now or utc_now()
        with self.session() as s:
            # Housekeeping: sessions past their end for a day are of no use to anyone.
            s.execute(delete(LoginSession).where(LoginSession.expires_at < now - timedelta(days=1)))
            s.add(
                LoginSession(
                    user_id=account.id,
                    digest=_digest(session_id),
                    created_at=now,
                    expires_at=now + self.policy.session_lifetime,
                )
            )
        return session_id

    def session_account(self, session_id: str, *, now: datetime | None = None) -> Account | None:
        """The account of a live session, or None (ended, expired, or user disabled)."""
        if not session_id or len(session_id) > 128:
            return None
        now = now or utc_now()
        with self._sessions() as s:
            found = _credential(s, LoginSession, session_id)
            if found is None:
                return None
            row, user = found
            if row.ended_at is not None or row.expires_at <= now or user.disabled:
                return None
            return Account.from_row(user)

    def end_session(self, session_id: str, *, now: datetime | None = None) -> None:
        """Sign a session out (a copy of its cookie is refused from now on)."""
        with self.session() as s:
            s.execute(
                update(LoginSession)
                .where(LoginSession.digest == _digest(session_id), LoginSession.ended_at.is_(None))
                .values(ended_at=now or utc_now())
            )

    @staticmethod
    def _end_sessions(s: Session, user_id: int, now: datetime) -> None:
        s.execute(
            update(LoginSession)
            .where(LoginSession.user_id == user_id, LoginSession.ended_at.is_(None))
            .values(ended_at=now)
        )
