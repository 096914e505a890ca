"""KPI certification: who signed off which version of a definition, and the status that follows.

A sign-off records that a person approved one KPI version: the KPI's name, its version and its
content hash (`governance.content_hash`: the definition and its models), who, when and why.
Sign-offs come from two places, merged:

- the sign-off log of a definitions folder, `signoffs.yml` beside the definitions (shipped with
  the product for its certified KPIs; an installation may keep one in its own folder), checked
  strictly with the file, line and reason of every mistake;
- the app database (`kpi_signoffs`), where `control-tower kpi certify` and the catalog page
  record the sign-offs made in the installation (`kpi.signoffs`).

`certification` is the one rule every page, the API and the command line show: a KPI whose
definition says `deprecated` is deprecated; otherwise it is certified when a sign-off exists
for its current version and content hash, and a draft when none does. A definition changed
after its sign-off (a new content hash) is therefore a draft again until its new version is
signed off; `status: certified` written in a definition is a claim the sign-off must back.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING

from control_tower.config_files import ConfigError, Located, load_yaml

if TYPE_CHECKING:
    from control_tower.kpi.definitions import Kpi

SIGNOFF_LOG = "signoffs.yml"  # in a definitions folder: not a KPI definition
LOG_KEYS = ("kpi", "version", "content_hash", "signed_by", "signed_at", "note")
HASH_RE = re.compile(r"^[0-9a-f]{64}$")
MAX_NOTE = 2000


@dataclass(frozen=True)
class SignOff:
    """One approval of one KPI version (name, version, content hash): who, when and why.

    `source` says where it is recorded: the sign-off log's file and line, or `app database`.
    """

    kpi: str
    version: int
    content_hash: str
    signed_by: str
    signed_at: datetime
    note: str = ""
    source: str = "app database"

    @property
    def key(self) -> tuple[str, int, str]:
        """What it approves: (name, version, content hash)."""
        return (self.kpi, self.version, self.content_hash)

    def describe(self) -> str:
        """`signed off by eve on 2026-12-04 10:02 UTC`."""
        return f"signed off by {self.signed_by} on {self.signed_at:%Y-%m-%d %H:%M} UTC"


@dataclass(frozen=True)
class Certification:
    """A KPI's status and why: the sign-off of its current version, or what is missing."""

    status: str  # certified, draft or deprecated
    signoff: SignOff | None
    reason: str


def certification(kpi: Kpi, signoffs: Iterable[SignOff]) -> Certification:
    """The status of `kpi` given the sign-offs (see the module docstring): the one rule."""
    declared = kpi.declared_status or kpi.status
    found = signoff_of(kpi, signoffs)
    if declared == "deprecated":
        return Certification("deprecated", found, "the definition says deprecated")
    if found is not None:
        return Certification("certified", found, f"v{kpi.version} {found.describe()}")
    missing = f"no sign-off of v{kpi.version} (content {kpi.content_hash[:12]})"
    if declared == "certified":
        missing += ": the definition says certified, but that version is not signed off"
    return Certification("draft", None, missing)


def signoff_of(kpi: Kpi, signoffs: Iterable[SignOff]) -> SignOff | None:
    """The earliest sign-off of the KPI's current version and content, or None."""
    key = (kpi.name, kpi.version, kpi.content_hash)
    found = [s for s in signoffs if s.key == key]
    return min(found, key=lambda s: s.signed_at) if found else None


def with_certification(kpis: Mapping[str, Kpi], signoffs: Iterable[SignOff]) -> dict[str, Kpi]:
    """The KPIs with `status` and `signoff` set by `certification`, in the same order."""
    signoffs = list(signoffs)
    out = {}
    for name, kpi in kpis.items():
        found = certification(kpi, signoffs)
        out[name] = replace(kpi, status=found.status, signoff=found.signoff)
    return out


def signed_versions(signoffs: Iterable[SignOff]) -> set[tuple[str, int, str]]:
    """The (name, version, content hash) that were signed off."""
    return {s.key for s in signoffs}


# --- the sign-off log (signoffs.yml) ------------------------------------------------------------


def read_signoff_log(folder: Path, known: Iterable[str] | None = None) -> list[SignOff]:
    """The sign-offs of `folder`'s `signoffs.yml` (none when it has no log).

    Raises ConfigError with the file, line and reason of the first mistake: an unknown key, a
    KPI not in `known` (when given), a version that is not a positive whole number, a content
    hash that is not 64 lowercase hex digits, a missing approver or time, or a version signed
    off twice.

        signoffs:
          - kpi: line_fill_rate
            version: 1
            content_hash: 5d1c…   # 64 hex digits: `control-tower kpi show` prints it
            signed_by: customer-service lead
            signed_at: 2026-11-22T09:00:00Z
            note: Definition reviewed against the fill-rate worked example.
    """
    path = folder / SIGNOFF_LOG
    if not path.exists():
        return []
    top = load_yaml(path)
    if top is None:
        return []
    top.no_other_keys({"signoffs"})
    names = set(known) if known is not None else None
    out: list[SignOff] = []
    seen: dict[tuple[str, int, str], int] = {}
    for entry in top.list_at("signoffs"):
        signoff = _entry(entry, names)
        if signoff.key in seen:
            raise entry.error(
                f"{signoff.kpi} v{signoff.version} (content {signoff.content_hash[:12]}) is "
                f"already signed off at line {seen[signoff.key]}"
            )
        seen[signoff.key] = entry.line
        out.append(signoff)
    return out


def _entry(entry: Located, names: set[str] | None) -> SignOff:
    entry.no_other_keys(LOG_KEYS)
    kpi = entry.required("kpi", str)
    if names is not None and kpi not in names:
        raise entry.error(f"no KPI {kpi!r} in the catalog (known: {', '.join(sorted(names))})")
    version = entry.required("version", int)
    if version < 1:
        raise entry.error(f"'version' must be a positive whole number, not {version}")
    digest = entry.required("content_hash", str)
    if not HASH_RE.match(digest):
        raise entry.error(
            f"'content_hash' must be the 64 lowercase hex digits of the version's content "
            f"(control-tower kpi show {kpi}), not {digest!r}"
        )
    signed_by = entry.required("signed_by", str).strip()
    if not signed_by:
        raise entry.error("'signed_by' names who approved the version")
    signed_at = _instant(entry)
    note = entry.optional("note", str, "").strip()
    if len(note) > MAX_NOTE:
        raise entry.error(f"'note' is longer than {MAX_NOTE} characters")
    return SignOff(
        kpi, version, digest, signed_by, signed_at, note, f"{entry.path.name}, line {entry.line}"
    )


def _instant(entry: Located) -> datetime:
    """`signed_at` as naive UTC (a time with an offset is converted; a date alone is its
    midnight UTC)."""
    found = entry.get("signed_at")
    value = found.value if found is not None else None
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, date):
        return datetime.combine(value, time())
    raise (found or entry).error(
        "'signed_at' must be the time of the sign-off in UTC, like 2026-11-22T09:00:00Z, "
        f"not {value!r}"
    )


__all__ = [
    "SIGNOFF_LOG",
    "Certification",
    "ConfigError",
    "SignOff",
    "certification",
    "read_signoff_log",
    "signed_versions",
    "signoff_of",
    "with_certification",
]
