"""Account tables in the app database (users, personal API tokens, sign-in sessions) and scopes.

Portable types only (SQLite by default, PostgreSQL by URL). Secrets are never
stored: passwords as argon2id hashes, tokens and session ids as SHA-256
digests (they are random, so a fast digest suffices). Times are naive UTC.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from control_tower.roles import ROLES as ROLES


class Base(DeclarativeBase):
    """Declarative base of the account tables (their own metadata)."""


class User(Base):
    """A person who signs in: role, scope, password hash and lockout state."""

    __tablename__ = "acct_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    entity_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    location_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    permissions: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    password_hash: Mapped[str] = mapped_column(String(255))
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    password_changed_at: Mapped[datetime] = mapped_column(DateTime)


class ApiToken(Base):
    """A personal API token of a user: only its digest and a display prefix are kept."""

    __tablename__ = "acct_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("acct_users.id"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)


class LoginSession(Base):
    """One browser sign-in: the cookie holds the id, the server decides whether it still holds."""

    __tablename__ = "acct_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("acct_users.id"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)


@dataclass(frozen=True)
class Scope:
    """The rows a user may see: an empty set of entities or locations means all of them.

    A row is in scope when its entity is allowed and its location is allowed,
    so `entities={"US01"}` with `locations={"DC-NJ"}` means DC-NJ's rows of US01.
    """

    entities: frozenset[str] = field(default_factory=frozenset)
    locations: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, entities: Iterable[str] = (), locations: Iterable[str] = ()) -> Scope:
        """A scope from any iterables of ids."""
        return cls(frozenset(entities), frozenset(locations))

    @property
    def is_all(self) -> bool:
        """True when nothing is restricted."""
        return not self.entities and not self.locations

    def allows(self, entity_id: str | None = None, location_id: str | None = None) -> bool:
        """Whether a row with this entity and location is in scope."""
        if self.entities and entity_id not in self.entities:
            return False
        return not (self.locations and location_id not in self.locations)

    def overlaps(self, other: Scope) -> bool:
        """Whether some row could be in both scopes (an empty set allows every id)."""
        return all(
            not mine or not theirs or bool(mine & theirs)
            for mine, theirs in (
                (self.entities, other.entities),
                (self.locations, other.locations),
            )
        )

    def sql(
        self, entity_column: str | None = "entity_id", location_column: str | None = "location_id"
    ) -> tuple[str, list[Any]]:
        """A WHERE condition (`?` parameters) limiting a query to this scope, and its values.

        Column names come from code, never from a request. A restriction on a
        dimension the query lacks (column None) matches nothing: fail closed.
        """
        parts: list[str] = []
        params: list[Any] = []
        for ids, column in ((self.entities, entity_column), (self.locations, location_column)):
            if not ids:
                continue
            if column is None:
                return "FALSE", []
            values = sorted(ids)
            parts.append(f"{column} IN ({', '.join('?' * len(values))})")
            params.extend(values)
        return (" AND ".join(parts) or "TRUE"), params

    def describe(self) -> str:
        """The scope in words, for lists and logs."""
        if self.is_all:
            return "all"
        words = []
        if self.entities:
            words.append("entities " + ", ".join(sorted(self.entities)))
        if self.locations:
            words.append("locations " + ", ".join(sorted(self.locations)))
        return "; ".join(words)


@dataclass(frozen=True)
class Account:
    """What the rest of the product knows of a user (no secrets), detached from the database."""

    id: int
    name: str
    role: str
    scope: Scope
    disabled: bool
    failed_attempts: int
    locked_until: datetime | None
    created_at: datetime
    last_login_at: datetime | None
    permissions: frozenset[str] = frozenset()

    @classmethod
    def from_row(cls, user: User) -> Account:
        """The account of an ORM row."""
        return cls(
            id=user.id,
            name=user.name,
            role=user.role,
            scope=Scope.of(user.entity_ids or (), user.location_ids or ()),
            disabled=user.disabled,
            failed_attempts=user.failed_attempts,
            locked_until=user.locked_until,
            created_at=user.created_at,
            last_login_at=user.last_login_at,
            permissions=frozenset(user.permissions or ()),
        )


@dataclass(frozen=True)
class TokenInfo:
    """A token as listed (never the token itself)."""

    id: int
    user: str
    prefix: str
    label: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
