"""The built wheel carries what the product reads besides its code, and finds it once installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from control_tower.kpi.catalog import load_catalog

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SHIPPED = "control_tower/_shipped"
# Folder in the repository -> folder in the wheel.
LAYOUT = {
    "kpi_definitions": f"{SHIPPED}/kpi_definitions",
    "pipelines/mappings": f"{SHIPPED}/mappings",
    "assets": f"{SHIPPED}/assets",
}

PROBE = """
import json, sys
from pathlib import Path
import control_tower
from control_tower import resources
from control_tower.kpi.catalog import load_catalog
from control_tower.mappings import load_mappings
from control_tower.settings import load_settings
from control_tower.web import ASSETS_DIR

settings = load_settings(Path(sys.argv[1]))
print(json.dumps({
    "package": control_tower.__file__,
    "shipped": {name: str(resources.shipped(name)) for name in resources.REPOSITORY_PATHS},
    "kpi_definitions": [str(p) for p in settings.kpi_definitions],
    "mappings": [str(p) for p in settings.mappings],
    "assets": str(ASSETS_DIR),
    "kpis": sorted(load_catalog(settings.kpi_definitions).kpis),
    "mapping_names": sorted(m.path.stem for m in load_mappings(settings.mappings)),
}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    (path,) = out.glob("control_tower-*.whl")
    return path


def _repository_files(folder: str) -> set[str]:
    root = REPO / folder
    return {
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_the_wheel_holds_definitions_models_mappings_and_assets(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder, packaged in LAYOUT.items():
        inside = {n.removeprefix(packaged + "/") for n in names if n.startswith(packaged + "/")}
        assert inside == _repository_files(folder), folder
    assert f"{SHIPPED}/kpi_definitions/models/order_lines.yml" in names
    assert f"{SHIPPED}/assets/control-tower.css" in names
    assert not any(n.startswith("pipelines/mappings/") for n in names)  # shipped once
    migrations = "control_tower/storage/migrations"
    inside = {n.removeprefix(migrations + "/") for n in names if n.startswith(migrations + "/")}
    assert inside == _repository_files(migrations)  # env.py, the template and every revision
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert (
        "control-tower = control_tower.cli:main"
        in zipfile.ZipFile(wheel).read(entry_points).decode()
    )


def test_the_installed_layout_resolves_its_own_copies(wheel: Path, tmp_path: Path) -> None:
    """Unpacked as pip installs it, away from the repository: everything comes from the wheel."""
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTROL_TOWER_")}
    env["PYTHONPATH"] = str(site)
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, str(elsewhere / "data")],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr
    found = json.loads(probe.stdout)
    packaged = site / SHIPPED
    assert found["package"] == str(site / "control_tower" / "__init__.py")
    assert found["shipped"] == {
        "kpi_definitions": str(packaged / "kpi_definitions"),
        "mappings": str(packaged / "mappings"),
        "assets": str(packaged / "assets"),
    }
    assert found["kpi_definitions"] == [str(packaged / "kpi_definitions")]
    assert found["mappings"] == [str(packaged / "mappings")]
    assert found["assets"] == str(packaged / "assets")
    assert found["kpis"] == sorted(load_catalog().kpis)
    assert found["mapping_names"] == sorted(
        p.stem for p in (REPO / "pipelines" / "mappings").glob("*.yml")
    )
