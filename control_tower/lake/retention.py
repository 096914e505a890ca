"""Lake retention: keep the files of the newest versions, delete what no kept version names.

A reader that resolved CURRENT a moment before a publish still reads the previous version's
files: keeping the last `keep` versions (3 by default) gives it that time. Older manifests are
deleted, then every Parquet file no kept manifest names (and what a crashed publish left:
temporary files, the staging folder), then the folders left empty. When a kept manifest cannot
be read, no file is deleted (which ones it names is unknown); its version ages out later.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from control_tower.lake.layout import (
    CURRENT,
    MANIFESTS_DIR,
    STAGING_DIR,
    TABLES_DIR,
    LakeError,
    version_number,
)
from control_tower.lake.read import current_version, read_manifest

log = logging.getLogger(__name__)

KEEP_VERSIONS = 3


@dataclass(frozen=True)
class Retention:
    """What a clean-up removed."""

    manifests: int = 0
    files: int = 0
    skipped: str = ""  # why files were not cleaned, if they were not


def versions(lake_dir: Path) -> list[str]:
    """Every version with a manifest, oldest first."""
    folder = lake_dir / MANIFESTS_DIR
    found = []
    for path in folder.glob("v*.json") if folder.is_dir() else ():
        try:
            found.append((version_number(path.stem, where=str(path)), path.stem))
        except LakeError:
            continue  # not a manifest of ours
    return [v for _, v in sorted(found)]


def clean(lake_dir: Path, *, keep: int = KEEP_VERSIONS) -> Retention:
    """Delete the manifests older than the newest `keep` and every file none of those names."""
    if keep < 1:
        raise ValueError(f"the lake keeps at least 1 version, not {keep}")
    shutil.rmtree(lake_dir / STAGING_DIR, ignore_errors=True)
    all_versions = versions(lake_dir)
    kept = set(all_versions[-keep:])
    if (lake_dir / CURRENT).exists():
        try:  # the current version is kept, even when newer manifests never became current
            kept.add(current_version(lake_dir))
        except LakeError as exc:
            log.warning("lake clean-up skipped: %s", exc)
            return Retention(skipped=str(exc))
    old = [v for v in all_versions if v not in kept]
    for tmp in (lake_dir / MANIFESTS_DIR).glob(".*.tmp-*"):
        tmp.unlink(missing_ok=True)
    for version in old:
        (lake_dir / MANIFESTS_DIR / f"{version}.json").unlink(missing_ok=True)
    referenced: set[Path] = set()
    for version in sorted(kept):
        try:
            manifest = read_manifest(lake_dir, version)
        except LakeError as exc:  # kept, so its files are kept: which they are is unknown
            log.warning("lake clean-up skipped: %s", exc)
            return Retention(manifests=len(old), skipped=str(exc))
        referenced.update((lake_dir / f.path) for t in manifest.tables.values() for f in t.files)
    removed = 0
    tables = lake_dir / TABLES_DIR
    for path in sorted(tables.rglob("*")) if tables.is_dir() else ():
        if path.is_file() and path not in referenced:
            path.unlink(missing_ok=True)
            removed += 1
    for folder in sorted(tables.rglob("*"), reverse=True) if tables.is_dir() else ():
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    return Retention(manifests=len(old), files=removed)
