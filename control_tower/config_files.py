"""YAML configuration files that name the file and line of every mistake.

Approval rules, escalation policies and subscriptions are data the people who run the tower
edit by hand; a mistake in them must say where it is. `load_yaml` parses a file with PyYAML's
composer (so every mapping, list and value keeps the line it came from) and answers a `Located`
tree: plain Python values reached through `Located.value`, each node knowing its `line`.
`ConfigError` reads "<file>, line <n>: <reason>" and carries the three parts.

    doc = load_yaml(path)                         # Located (a mapping at the top) or None
    for rule in doc.list_at("rules"):             # a list: each item Located
        name = rule.required("name", str)         # refused with the rule's line if missing
        limit = rule.optional("min_value", float, default=0.0)
        rule.no_other_keys({"name", "min_value"}) # unknown keys refused with their own line
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")

_TYPE_NAMES = {str: "text", int: "a whole number", float: "a number", bool: "true or false"}


class ConfigError(ValueError):
    """A configuration file that cannot be used: which file, which line (1-based) and why."""

    def __init__(self, path: Path, line: int | None, reason: str) -> None:
        self.path, self.line, self.reason = path, line, reason
        where = f"{path}, line {line}" if line is not None else str(path)
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class Located:
    """One YAML node: its plain value, the file and line it starts on."""

    node: yaml.Node
    path: Path

    @property
    def line(self) -> int:
        """The 1-based line the node starts on."""
        return self.node.start_mark.line + 1

    @property
    def value(self) -> Any:
        """The node as plain Python (mappings, lists, scalars resolved as YAML does)."""
        return _plain(self.node)

    def error(self, reason: str) -> ConfigError:
        """A ConfigError at this node's line."""
        return ConfigError(self.path, self.line, reason)

    # -- mappings -------------------------------------------------------------------------
    def _pairs(self) -> Iterator[tuple[str, Located]]:
        if not isinstance(self.node, yaml.MappingNode):
            raise self.error(f"expected a mapping (key: value), not {_kind(self.node)}")
        for key, value in self.node.value:
            yield str(_plain(key)), Located(value, self.path)

    def keys(self) -> list[str]:
        """The keys of a mapping node, in file order."""
        return [k for k, _ in self._pairs()]

    def get(self, key: str) -> Located | None:
        """The value node under `key` of a mapping, or None."""
        return next((v for k, v in self._pairs() if k == key), None)

    def key_line(self, key: str) -> int:
        """The line of `key` in a mapping (the mapping's own line when it is absent)."""
        for k, _v in self.node.value if isinstance(self.node, yaml.MappingNode) else ():
            if str(_plain(k)) == key:
                return k.start_mark.line + 1
        return self.line

    def no_other_keys(self, allowed: Collection[str]) -> None:
        """Refuse the first key of a mapping that is not in `allowed`, at that key's line."""
        for key in self.keys():
            if key not in allowed:
                raise ConfigError(
                    self.path,
                    self.key_line(key),
                    f"unknown key {key!r}; known keys: {', '.join(sorted(allowed))}",
                )

    def required(self, key: str, kind: type[T]) -> T:
        """The value under `key`, of type `kind`; refused at the mapping's line if missing."""
        found = self.get(key)
        if found is None or found.value is None:
            raise self.error(f"missing {key!r}")
        return found.typed(kind, key)

    def optional(self, key: str, kind: type[T], default: T) -> T:
        """The value under `key` of type `kind`, or `default` when absent or empty."""
        found = self.get(key)
        if found is None or found.value is None:
            return default
        return found.typed(kind, key)

    def list_at(self, key: str) -> list[Located]:
        """The items of the list under `key` (empty when absent)."""
        found = self.get(key)
        if found is None or found.value is None:
            return []
        if not isinstance(found.node, yaml.SequenceNode):
            raise found.error(f"{key!r} must be a list, not {_kind(found.node)}")
        return [Located(item, self.path) for item in found.node.value]

    # -- scalars --------------------------------------------------------------------------
    def typed(self, kind: type[T], what: str = "value") -> T:
        """This node's value as `kind` (an int is a float too; a bool is not a number)."""
        value = self.value
        ok = isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)  # type: ignore[return-value]
        if kind is str and isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)  # type: ignore[return-value]
        if not ok:
            expected = _TYPE_NAMES.get(kind, kind.__name__)
            raise self.error(f"{what!r} must be {expected}, not {value!r}")
        return value

    def one_of(self, key: str, choices: Collection[str], default: str | None = None) -> str:
        """A text value under `key` that must be one of `choices`."""
        found = self.get(key)
        if found is None or found.value is None:
            if default is None:
                raise self.error(f"missing {key!r} (one of: {', '.join(choices)})")
            return default
        value = found.typed(str, key)
        if value not in choices:
            raise found.error(f"{key!r} is {value!r}; expected one of: {', '.join(choices)}")
        return value


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return f"the value {node.value!r}"


def _plain(node: yaml.Node) -> Any:
    """A composed node as plain Python, resolved by PyYAML's safe constructor."""
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def load_yaml(path: Path) -> Located | None:
    """The file's top node (None when the file is empty); a missing file or bad YAML refused."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, None, "file not found") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(path, None, f"not UTF-8 text: {exc}") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(path, line, f"not valid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(path, None, f"not valid YAML: {exc}") from None
    if node is None:
        return None
    top = Located(node, path)
    if not isinstance(node, yaml.MappingNode):
        raise top.error(f"expected a mapping at the top of the file, not {_kind(node)}")
    return top
