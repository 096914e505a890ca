"""Files the product ships besides its code: KPI definitions, source mappings, web assets.

In the repository they live at the top level (`kpi_definitions/`, `assets/`,
`pipelines/mappings/`), where a checkout or an editable install reads them.
A wheel carries a copy of each inside the package, under
`control_tower/_shipped/` (see `force-include` in pyproject.toml), so an
installed product runs from any folder. `shipped()` returns whichever exists,
the packaged copy first. (An editable install also copies them beside the
package in site-packages; unused, since the repository's package is the one
imported, and it reads the repository's folders, so edits show at once.)

An installation adds its own KPI definitions and mappings in its data folder
(`<home>/kpi_definitions/`, `<home>/mappings/`), loaded beside the shipped
ones: `folders()` lists the folders to read and `files_by_name()` finds the
definition files in them, reporting a file that has the same name as one in
an earlier folder instead of letting either silently win.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PACKAGED_DIR = PACKAGE_DIR / "_shipped"  # the copy inside an installed wheel
CHECKOUT_DIR = PACKAGE_DIR.parent  # the repository root, in a checkout or editable install

# Name of each shipped resource -> its folder in the repository (the wheel keeps it under the name).
REPOSITORY_PATHS: dict[str, str] = {
    "kpi_definitions": "kpi_definitions",
    "mappings": "pipelines/mappings",
    "assets": "assets",
}


def shipped(name: str) -> Path:
    """The folder of a shipped resource: the wheel's copy when installed, else the repository's."""
    if name not in REPOSITORY_PATHS:
        raise KeyError(f"no shipped resource {name!r}; known: {', '.join(REPOSITORY_PATHS)}")
    packaged = PACKAGED_DIR / name
    return packaged if packaged.is_dir() else CHECKOUT_DIR / REPOSITORY_PATHS[name]


def folders(*candidates: Path | Sequence[Path] | None) -> tuple[Path, ...]:
    """Resolved folders in order, each once (a folder named twice is read once); None is skipped."""
    out: list[Path] = []
    for candidate in candidates:
        if candidate is None:
            continue
        items = [candidate] if isinstance(candidate, Path | str) else list(candidate)
        for item in items:
            path = Path(item).expanduser().resolve()
            if path not in out:
                out.append(path)
    return tuple(out)


@dataclass(frozen=True)
class SameName:
    """Two definition files with one name in two folders: `first` is read, `second` is refused."""

    name: str
    first: Path
    second: Path

    def describe(self, what: str) -> str:
        """A sentence naming both files, for the error a user reads."""
        return (
            f"{what} {self.name!r} is defined twice: {self.second} has the same name as "
            f"{self.first}; a definition in the data folder cannot replace a shipped one, "
            "so give it another name"
        )


def files_by_name(
    dirs: Sequence[Path], pattern: str = "*.yml"
) -> tuple[dict[str, Path], list[SameName]]:
    """The files matching `pattern` in `dirs` by name (file stem), in folder then name order.

    A folder that does not exist holds nothing. A name found again in a later
    folder is not taken: it is returned as a `SameName` for the caller to report.
    """
    found: dict[str, Path] = {}
    clashes: list[SameName] = []
    for folder in dirs:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob(pattern)):
            if path.stem in found:
                clashes.append(SameName(path.stem, found[path.stem], path))
            else:
                found[path.stem] = path
    return found, clashes
