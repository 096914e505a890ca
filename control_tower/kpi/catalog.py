"""The KPI catalog: load `kpi_definitions/` (KPIs and their base models) and validate it strictly.

A base model (`kpi_definitions/models/<name>.yml`, see `kpi.models`) is a
trusted SQL SELECT over landed tables at one grain. A KPI
(`kpi_definitions/<name>.yml`, see `kpi.definitions`) names its model, how
its measures aggregate, its dimensions, parameters, thresholds and the
exception types behind its misses. The loader refuses anything it cannot
vouch for, with the file, line, key and reason of every problem at once
(`kpi.checks`), and a certified definition changed without a new version
(`kpi.governance`). Each folder may keep a sign-off log (`signoffs.yml`, see
`kpi.certification`): the status of every KPI follows from its sign-offs.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from control_tower import resources
from control_tower.kpi.certification import (
    SIGNOFF_LOG,
    ConfigError,
    SignOff,
    read_signoff_log,
    signed_versions,
    with_certification,
)
from control_tower.kpi.checks import CatalogError, Problem
from control_tower.kpi.definitions import Companion, Kpi, Measure, Parameter, parse_kpi
from control_tower.kpi.governance import HistoryRecord, check_history, content_hash
from control_tower.kpi.models import Model, model_chain, parse_model, resolve_uses

__all__ = [
    "DEFAULT_DIR",
    "Catalog",
    "CatalogError",
    "Companion",
    "HistoryRecord",
    "Kpi",
    "Measure",
    "Model",
    "Parameter",
    "Problem",
    "SignOff",
    "load_catalog",
    "load_definition_text",
]

DEFAULT_DIR = resources.shipped("kpi_definitions")


@dataclass
class Catalog:
    """Every KPI and model of a definitions folder, validated."""

    root: Path
    models: dict[str, Model]
    kpis: dict[str, Kpi]
    # The sign-offs the statuses of `kpis` follow from: the folders' logs, then any added.
    signoffs: tuple[SignOff, ...] = field(default=())

    def with_signoffs(self, added: Iterable[SignOff]) -> Catalog:
        """This catalog with more sign-offs (the app database's): statuses recomputed."""
        added = tuple(added)
        if not added:
            return self
        signoffs = (*self.signoffs, *added)
        return replace(self, kpis=with_certification(self.kpis, signoffs), signoffs=signoffs)

    def kpi(self, name: str) -> Kpi:
        """The KPI called `name`; KeyError names the known ones."""
        try:
            return self.kpis[name]
        except KeyError:
            raise KeyError(f"no KPI {name!r}; known: {', '.join(sorted(self.kpis))}") from None

    def exception_types(self, name: str) -> tuple[str, ...]:
        """The exception types behind the KPI called `name` (none for a KPI not in the catalog)."""
        kpi = self.kpis.get(name)
        return kpi.exception_types if kpi else ()

    def linked(self) -> tuple[str, ...]:
        """Every KPI with at least one exception type behind it, sorted."""
        return tuple(sorted(name for name, kpi in self.kpis.items() if kpi.exception_types))


def load_catalog(
    root: Path | Sequence[Path] | None = None,
    *,
    history: Iterable[HistoryRecord] = (),
    signoffs: Iterable[SignOff] = (),
) -> Catalog:
    """Load and validate every model and KPI under `root`; raises CatalogError listing all problems.

    `root` is one definitions folder or several loaded as one catalog (the
    product's, then an installation's own): a KPI may use a model of any of
    them, and a KPI or model name defined in two folders is refused, naming
    both files. `history` is the recorded governance history
    (ops.kpi_versions): a certified or signed-off KPI whose content changed
    while its version did not is refused. Each folder's `signoffs.yml` is read
    (its mistakes are problems too) and, with `signoffs` (the app database's),
    sets every KPI's status (`kpi.certification`).
    """
    roots = resources.folders(root or DEFAULT_DIR)
    problems: list[Problem] = []
    for folder in roots:
        if not folder.is_dir():
            raise CatalogError([Problem(str(folder), "", "KPI definitions folder does not exist")])
        for path in sorted([*folder.rglob("*.yaml"), *folder.rglob("*.json")]):
            problems.append(
                Problem(str(path.relative_to(folder.parent)), "", "definitions are .yml files only")
            )
    model_paths, model_clashes = resources.files_by_name([r / "models" for r in roots])
    kpi_paths, kpi_clashes = resources.files_by_name(roots)
    log_name = Path(SIGNOFF_LOG).stem
    kpi_paths.pop(log_name, None)  # the sign-off log is no definition
    kpi_clashes = [c for c in kpi_clashes if c.name != log_name]
    problems += [Problem(str(c.second), "name", c.describe("model")) for c in model_clashes]
    problems += [Problem(str(c.second), "name", c.describe("KPI")) for c in kpi_clashes]
    models: dict[str, Model] = {}
    names = tuple(sorted(model_paths))
    for path in model_paths.values():
        model = _parsed(
            ("model", path, path.read_bytes(), names),
            lambda found, path=path: parse_model(path, path.parents[1], found, model_paths),
            problems,
        )
        if model is not None:
            models[model.name] = model
    resolve_uses(models, problems)
    kpis: dict[str, Kpi] = {}
    used = tuple(sorted(models.items()))
    for path in sorted(kpi_paths.values(), key=lambda p: (roots.index(p.parent), p.name)):
        kpi = _parsed(
            ("kpi", path, path.read_bytes(), used),
            lambda found, path=path: _parse_kpi(path, models, found),
            problems,
        )
        if kpi is not None:  # its name is its file's, unique across the folders
            kpis[kpi.name] = kpi
    logged = _signoff_logs(roots, kpis, problems) if not problems else []
    signoffs = (*logged, *signoffs)
    if not problems:
        signed = signed_versions(signoffs)
        problems.extend(check_history(kpis.values(), history, roots[0], signed=signed))
    if problems:
        raise CatalogError(problems)
    return Catalog(
        root=roots[0],
        models=models,
        kpis=with_certification(kpis, signoffs),
        signoffs=tuple(signoffs),
    )


# Parsed definition files by content (and by the models a KPI reads): the scheduler, the web
# app and the steps load the catalog often, and a file that did not change parses the same.
# Models and KPIs are frozen, so one parsed object is safely shared.
_PARSED: dict[tuple[Any, ...], tuple[Any, tuple[Problem, ...]]] = {}
_PARSED_MAX = 1024


def _parsed(
    key: tuple[Any, ...], parse: Callable[[list[Problem]], Any], problems: list[Problem]
) -> Any:
    """`parse(found)`'s result for `key`, parsed once; its problems are added to `problems`."""
    hit = _PARSED.get(key)
    if hit is None:
        found: list[Problem] = []
        hit = (parse(found), tuple(found))
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[key] = hit
    problems.extend(hit[1])
    return hit[0]


def _parse_kpi(path: Path, models: Mapping[str, Model], problems: list[Problem]) -> Kpi | None:
    kpi = parse_kpi(path, path.parent, models, problems)
    return _finish(kpi, models) if kpi is not None else None


def _signoff_logs(
    roots: Sequence[Path], kpis: Mapping[str, Kpi], problems: list[Problem]
) -> list[SignOff]:
    """The sign-offs of every folder's log; a mistake is a problem with its file and line."""
    out: list[SignOff] = []
    for folder in roots:
        try:
            out.extend(read_signoff_log(folder, kpis))
        except ConfigError as exc:
            file = (
                exc.path.relative_to(folder.parent)
                if exc.path.is_relative_to(folder.parent)
                else exc.path
            )
            problems.append(Problem(str(file), "", exc.reason, exc.line))
    return out


def _finish(kpi: Kpi, models: Mapping[str, Model]) -> Kpi:
    kpi = replace(kpi, chain=model_chain(kpi.model, models))
    return replace(kpi, content_hash=content_hash(kpi))


def load_definition_text(definition: str, model_texts: Mapping[str, str], *, name: str) -> Kpi:
    """Rebuild a KPI from recorded texts (its definition and its models), for `kpi diff`."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "kpi_definitions"
        (root / "models").mkdir(parents=True)
        for model_name, text in model_texts.items():
            (root / "models" / f"{model_name}.yml").write_text(text)
        (root / f"{name}.yml").write_text(definition)
        problems: list[Problem] = []
        models: dict[str, Model] = {}
        for model_name in model_texts:
            model = parse_model(root / "models" / f"{model_name}.yml", root, problems, model_texts)
            if model is not None:
                models[model.name] = model
        resolve_uses(models, problems)
        kpi = parse_kpi(root / f"{name}.yml", root, models, problems, recorded=True)
        if problems or kpi is None:
            raise CatalogError(problems)
        return _finish(kpi, models)
