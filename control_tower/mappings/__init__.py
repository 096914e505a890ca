"""Source mappings: land non-canonical exports through declarative YAML files (see the README).

`<home>/sources.yml` lists the mappings that run, by name, from the product's
mappings folder (setting CONTROL_TOWER_MAPPINGS, default the shipped examples
of `pipelines/mappings/`) and the data folder's own `<home>/mappings/` (a name
in both is refused):

    enabled: [dataco, odoo_example]

Nothing runs without that file, so the shipped examples never land by surprise.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from control_tower.landing import Source
from control_tower.mappings.land import FileMappingSource
from control_tower.mappings.spec import MappingError, SourceMapping, load_mapping, load_mappings
from control_tower.mappings.sql import SqlMappingSource
from control_tower.settings import Settings

__all__ = [
    "FileMappingSource",
    "MappingError",
    "SourceMapping",
    "SqlMappingSource",
    "enabled_mappings",
    "load_mapping",
    "load_mappings",
    "mapping_sources",
]


def enabled_mappings(settings: Settings) -> list[SourceMapping]:
    """The mappings `<home>/sources.yml` enables, validated; [] when the file is absent."""
    path: Path = settings.sources_config
    if not path.exists():
        return []
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise MappingError(path, "(file)", f"not valid YAML: {exc}") from None
    if not isinstance(raw, dict) or set(raw) - {"enabled"}:
        raise MappingError(path, "(top level)", "expected only `enabled: [mapping names]`")
    names = raw.get("enabled") or []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise MappingError(path, "enabled", "must be a list of mapping names")
    return load_mappings(settings.mappings, names)


def mapping_sources(settings: Settings, inbox: Path) -> list[Source]:
    """The source of each enabled mapping, in the order `sources.yml` lists them.

    A file mapping lands the matching files of `inbox/<folder>/`; a SQL
    mapping pulls only what changed since its watermarks (see
    `control_tower.mappings.sql`), from the mapping's URL or from
    CONTROL_TOWER_SOURCE_<NAME>_URL.
    """
    return [
        FileMappingSource(mapping, inbox) if mapping.kind == "files" else SqlMappingSource(mapping)
        for mapping in enabled_mappings(settings)
    ]
