"""The inbox: which files are waiting, which contract table each one is, and their content hash."""

from __future__ import annotations

import hashlib
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from control_tower.contracts import LOAD_ORDER, SYSTEMS, TABLES
from control_tower.landing.readers import file_format
from control_tower.settings import private_dir, utc_now

# In-flight uploads: write to one of these names, then rename into place.
_IN_FLIGHT = re.compile(r"^[.~]|\.(tmp|part|partial|crdownload|filepart)$", re.IGNORECASE)


@dataclass(frozen=True)
class InboxFile:
    """A file found in the inbox and what it claims to be."""

    path: Path
    system: str | None
    table: str | None
    problem: str | None = None  # set when the file cannot be landed at all

    @property
    def sort_key(self) -> tuple[int, str, str]:
        """Load order: referenced tables first, then by file name."""
        order = LOAD_ORDER.index(self.table) if self.table in LOAD_ORDER else -1
        return (order, self.system or "", self.path.name)


def table_for_name(file_name: str) -> str | None:
    """The contract table a file name starts with (`<table>[anything].<ext>`), longest match."""
    stem = file_name.lower()
    best = None
    for name in TABLES:
        if not stem.startswith(name) or (best is not None and len(name) <= len(best)):
            continue
        if len(stem) == len(name) or not stem[len(name)].isalnum():
            best = name
    return best


def _article(system: str) -> str:
    """The article before a system name: an ERP, a WMS, a TMS."""
    return "an" if system.lower().startswith("e") else "a"


def classify(path: Path, system: str | None) -> InboxFile:
    """Work out the table of one inbox file, or why it cannot be landed."""
    if system is None:
        return InboxFile(
            path, None, None, "the file is not inside a system folder (erp/, wms/ or tms/)"
        )
    if file_format(path) is None:
        return InboxFile(
            path,
            system,
            None,
            f"unsupported file type {''.join(path.suffixes) or '(none)'!r}: "
            "use .csv, .csv.gz, .parquet, .jsonl or .xlsx",
        )
    table = table_for_name(path.name)
    if table is None:
        known = ", ".join(t.name for t in TABLES.values() if t.system == system)
        return InboxFile(
            path,
            system,
            None,
            f"the file name does not start with {_article(system)} {system.upper()} table name "
            f"(expected <table>[anything].<ext>, table one of: {known})",
        )
    owner = TABLES[table].system
    if owner != system:
        return InboxFile(
            path,
            system,
            table,
            f"{table} is {_article(owner)} {owner.upper()} table but the file is in {system}/: "
            f"move it to {owner}/",
        )
    return InboxFile(path, system, table)


def entry_problem(path: Path, inbox: Path) -> str | None:
    """Why an inbox entry is not read at all: a symbolic link, or a path leading out of the inbox.

    Only regular files inside the inbox are landed. A link could make the
    product read (and report on) any file the service can open; it is set
    aside unread, with this reason.
    """
    if path.is_symlink():
        return (
            "the entry is a symbolic link: only regular files inside the inbox are landed; "
            "nothing was read through it (deliver the file itself, not a link to it)"
        )
    try:
        inside = path.resolve(strict=True).is_relative_to(inbox.resolve())
    except OSError:
        inside = False
    if not inside:
        return "the entry leads outside the inbox (through a linked folder); nothing was read"
    if not path.is_file() and not path.is_dir():
        return "the entry is not a regular file (a device, pipe or socket); nothing was read"
    return None


def _refused(path: Path, system: str | None, problem: str) -> InboxFile:
    table = table_for_name(path.name) if system else None
    return InboxFile(path, system, table, problem)


def discover(inbox: Path) -> list[InboxFile]:
    """Every landable (or rejectable) file in inbox/{erp,wms,tms}/, in load order.

    A symbolic link (to a file or a system folder) is listed with its
    problem (see `entry_problem`), never followed.
    """
    found: list[InboxFile] = []
    if not inbox.exists():
        return found
    for entry in sorted(inbox.iterdir()):
        if _IN_FLIGHT.search(entry.name):
            continue
        problem = entry_problem(entry, inbox)
        if problem is not None:
            found.append(_refused(entry, None, problem))
        elif entry.is_file():
            found.append(classify(entry, None))
        elif entry.is_dir() and entry.name in SYSTEMS:
            for path in sorted(entry.iterdir()):
                if _IN_FLIGHT.search(path.name):
                    continue
                problem = entry_problem(path, inbox)
                if problem is not None:
                    found.append(_refused(path, entry.name, problem))
                elif path.is_file():
                    found.append(classify(path, entry.name))
    return sorted(found, key=lambda f: f.sort_key)


def content_hash(path: Path) -> str:
    """SHA-256 of the file's bytes: the identity of a delivery."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(8 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def archive_file(path: Path, folder: Path, batch_id: int) -> Path:
    """Move a landed (or rejected) file to `folder/<yyyymmdd>/<batch id>-<name>`; its new path."""
    stamp = utc_now().strftime("%Y%m%d")
    dest_dir = folder / stamp
    private_dir(dest_dir)
    dest = dest_dir / f"{batch_id:06d}-{path.name}"
    shutil.move(str(path), dest)
    return dest


def set_aside(
    path: Path, folder: Path, batch_id: int, reason: str, detail: str | None = None
) -> Path:
    """Move a file that cannot be landed into `folder`, with a `.reason.txt` saying why.

    `detail` (what the file delivered, e.g. its header) is written only there.
    """
    dest = archive_file(path, folder, batch_id)
    now = utc_now()
    dest.with_name(dest.name + ".reason.txt").write_text(
        f"file: {path}\nbatch: {batch_id}\nrejected at: {now.isoformat()}Z\n"
        f"reason: {reason}\n{f'detail: {detail}{chr(10)}' if detail else ''}"
        "Nothing of this file was loaded.\n"
    )
    return dest
