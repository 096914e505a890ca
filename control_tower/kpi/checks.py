"""Strict YAML reading for definitions: line numbers, duplicate keys, and the problems found.

Every refusal of the KPI catalog is a `Problem` (file, line, key, reason);
the loader collects them all and raises one `CatalogError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class Problem:
    """One reason the catalog was refused."""

    file: str
    key: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.reason}" if self.key else f"{where}: {self.reason}"


class CatalogError(ValueError):
    """The catalog holds definitions that cannot be trusted; `problems` lists every reason."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("KPI catalog refused:\n" + "\n".join(f"  {p}" for p in problems))


# YAML with line numbers and duplicate-key refusal.


class _Map(dict):  # type: ignore[type-arg]
    """A mapping that remembers the line of itself and of each key."""

    line: int = 0
    lines: dict[str, int]
    duplicates: list[tuple[str, int]]


class _Loader(yaml.SafeLoader):
    pass


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> _Map:
    out = _Map()
    out.line = node.start_mark.line + 1
    out.lines = {}
    out.duplicates = []
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            out.duplicates.append((str(key), key_node.start_mark.line + 1))
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[str(key)] = key_node.start_mark.line + 1
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)


class Checker:
    """Collects problems for one file."""

    def __init__(self, path: Path, root: Path) -> None:
        self.path = path
        try:
            self.file = str(path.relative_to(root.parent))
        except ValueError:
            self.file = str(path)
        self.problems: list[Problem] = []

    def add(self, key: str, reason: str, line: int | None = None) -> None:
        self.problems.append(Problem(self.file, key, reason, line))

    def line(self, data: Any, key: str) -> int | None:
        if isinstance(data, _Map):
            return data.lines.get(key, data.line)
        return None

    def mapping(self, data: Any, spec: Mapping[str, bool], prefix: str) -> bool:
        """Check keys of a mapping against `spec` (name -> required); False if not a mapping."""
        if not isinstance(data, dict):
            self.add(prefix.rstrip("."), f"must be a mapping, got {type(data).__name__}")
            return False
        for key, line in getattr(data, "duplicates", []):
            self.add(prefix + key, "duplicate key", line)
        for key in data:
            if key not in spec:
                self.add(
                    prefix + str(key),
                    f"unknown key (allowed: {', '.join(spec)})",
                    self.line(data, str(key)),
                )
        for key, required in spec.items():
            if required and (key not in data or data[key] is None or data[key] == ""):
                self.add(prefix + key, "is required", getattr(data, "line", None))
        return True

    def text(self, data: Mapping[str, Any], key: str, prefix: str = "") -> str:
        value = data.get(key)
        if value is None:
            return ""
        if not isinstance(value, str) or not value.strip():
            self.add(prefix + key, "must be a non-empty string", self.line(data, key))
            return ""
        return value.strip()

    def choice(
        self, data: Mapping[str, Any], key: str, allowed: Iterable[str], prefix: str = ""
    ) -> str:
        value = data.get(key)
        allowed = tuple(allowed)
        if value is None:
            return ""
        if value not in allowed:
            self.add(
                prefix + key,
                f"{value!r} is not one of: {', '.join(allowed)}",
                self.line(data, key),
            )
            return ""
        return str(value)

    def names(self, data: Mapping[str, Any], key: str, prefix: str = "") -> tuple[str, ...]:
        value = data.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.add(prefix + key, "must be a list of names", self.line(data, key))
            return ()
        return tuple(value)


def read_yaml(path: Path, chk: Checker) -> tuple[Any, str]:
    text = path.read_text(encoding="utf-8")
    try:
        return yaml.load(text, Loader=_Loader), text  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        chk.add(
            "", f"not valid YAML: {getattr(exc, 'problem', exc)}", mark.line + 1 if mark else None
        )
        return None, text
