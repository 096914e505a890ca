"""Sign-offs made in the installation: the `kpi_signoffs` table of the app database, and `certify`.

One row per sign-off: which KPI version (name, version, content hash) who approved, when, with
their role and note. Rows are only ever added: the table is the audit trail of certification
(who signed off what, when). `certify` is the one way in, for the catalog page and
`control-tower kpi certify`: it checks that the person holds the `kpi_owner` permission, that
the KPI exists and is neither deprecated nor already certified in this version, and that the
version they saw is still the current one, then records the sign-off.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from sqlalchemy import DateTime, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from control_tower.kpi.catalog import Catalog
from control_tower.kpi.certification import MAX_NOTE, SignOff
from control_tower.settings import utc_now
from control_tower.storage.appdb import AppDatabase, Base

log = logging.getLogger(__name__)

PERMISSION = "kpi_owner"  # control_tower.roles.PERMISSIONS


class KpiSignOff(Base):
    """One sign-off of one KPI version, made in the installation."""

    __tablename__ = "kpi_signoffs"
    __table_args__ = (
        UniqueConstraint("kpi", "version", "content_hash", name="uq_kpi_signoffs_version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kpi: Mapped[str] = mapped_column(String(128), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    signed_by: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(32))  # the approver's role when signing
    signed_at: Mapped[datetime] = mapped_column(DateTime)
    note: Mapped[str | None] = mapped_column(Text, default=None)

    def signoff(self) -> SignOff:
        """The sign-off as the catalog reads it."""
        return SignOff(
            self.kpi,
            self.version,
            self.content_hash,
            self.signed_by,
            self.signed_at,
            self.note or "",
            "app database",
        )


class Approver(Protocol):
    """Who signs off: a signed-in web user or an account (name, role, permissions)."""

    @property
    def name(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def permissions(self) -> frozenset[str]: ...


class SignOffError(ValueError):
    """A sign-off that cannot be recorded, and why (the KPI, its status or the version seen)."""


class SignOffNotAllowedError(PermissionError):
    """The person does not hold the `kpi_owner` permission."""


def read_signoffs(db: AppDatabase, kpi: str | None = None) -> list[SignOff]:
    """The sign-offs recorded in the app database (of one KPI, or all), oldest first."""
    query = select(KpiSignOff).order_by(KpiSignOff.signed_at, KpiSignOff.id)
    if kpi is not None:
        query = query.where(KpiSignOff.kpi == kpi)
    with db.session() as s:
        return [row.signoff() for row in s.scalars(query)]


def certify(
    db: AppDatabase,
    catalog: Catalog,
    name: str,
    approver: Approver,
    *,
    note: str | None = None,
    seen: tuple[int, str] | None = None,
    now: datetime | None = None,
) -> SignOff:
    """Record `approver`'s sign-off of the current version of KPI `name`; the sign-off.

    `catalog` is the catalog with every sign-off applied (`Catalog.with_signoffs`). `seen` is
    the (version, content hash) the approver looked at: a definition changed since is refused,
    so nobody approves a text they did not read. Raises SignOffNotAllowedError without the
    `kpi_owner` permission, SignOffError for an unknown, deprecated or already certified KPI,
    a changed version or a note too long.
    """
    if PERMISSION not in approver.permissions:
        raise SignOffNotAllowedError(
            f"{approver.name} may not certify KPIs: signing off a KPI version needs the "
            f"{PERMISSION} permission (control-tower users grant {approver.name} {PERMISSION})"
        )
    kpi = catalog.kpis.get(name)
    if kpi is None:
        raise SignOffError(
            f"no KPI {name!r} in the catalog; known: {', '.join(sorted(catalog.kpis))}"
        )
    if kpi.status == "deprecated":
        raise SignOffError(f"{name} is deprecated: a deprecated KPI is not certified")
    if kpi.signoff is not None:
        raise SignOffError(f"{name} v{kpi.version} is already certified: {kpi.signoff.describe()}")
    if seen is not None and tuple(seen) != (kpi.version, kpi.content_hash):
        version, digest = seen
        raise SignOffError(
            f"{name} changed since you opened it (you saw v{version}, content {str(digest)[:12]}; "
            f"it is now v{kpi.version}, content {kpi.content_hash[:12]}): reload and read it again"
        )
    text = (note or "").strip()
    if len(text) > MAX_NOTE:
        raise SignOffError(f"the note is {len(text)} characters long; at most {MAX_NOTE}")
    row = KpiSignOff(
        kpi=name,
        version=kpi.version,
        content_hash=kpi.content_hash,
        signed_by=approver.name,
        role=approver.role,
        signed_at=now or utc_now(),
        note=text or None,
    )
    try:
        with db.session() as s:
            s.add(row)
    except IntegrityError:  # another approver was quicker
        raise SignOffError(f"{name} v{kpi.version} was signed off meanwhile: reload") from None
    log.info(
        "KPI %s v%s (content %s) signed off by %s (%s)",
        name,
        kpi.version,
        kpi.content_hash[:12],
        approver.name,
        approver.role,
    )
    return row.signoff()


def signoffs_by_kpi(signoffs: Iterable[SignOff]) -> dict[str, list[SignOff]]:
    """Sign-offs grouped by KPI name, oldest first."""
    out: dict[str, list[SignOff]] = {}
    for s in sorted(signoffs, key=lambda s: s.signed_at):
        out.setdefault(s.kpi, []).append(s)
    return out
