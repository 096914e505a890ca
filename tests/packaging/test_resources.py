"""Shipped files found from a checkout, and an installation's own definitions beside them."""

from __future__ import annotations

from pathlib import Path

import pytest

from control_tower import resources
from control_tower.kpi.catalog import DEFAULT_DIR, CatalogError, load_catalog
from control_tower.mappings import MappingError, enabled_mappings, load_mappings
from control_tower.settings import load_settings
from control_tower.views.kpi import cached_catalog

REPO = Path(__file__).resolve().parents[2]
SHIPPED_KPI = (DEFAULT_DIR / "line_fill_rate.yml").read_text()


def _own_kpi(home: Path, name: str, label: str = "Lines filled the first time (ours)") -> Path:
    """A KPI of the data folder over the shipped `order_lines` model."""
    folder = home / "kpi_definitions"
    folder.mkdir(parents=True, exist_ok=True)
    text = SHIPPED_KPI.replace("name: line_fill_rate", f"name: {name}").replace(
        "label: Line fill rate (first time)", f"label: {label}"
    )
    path = folder / f"{name}.yml"
    path.write_text(text.replace("status: certified", "status: draft"))
    return path


def test_a_checkout_reads_the_repository_folders() -> None:
    assert resources.shipped("kpi_definitions") == REPO / "kpi_definitions"
    assert resources.shipped("mappings") == REPO / "pipelines" / "mappings"
    assert resources.shipped("assets") == REPO / "assets"
    with pytest.raises(KeyError, match="known: kpi_definitions, mappings, assets"):
        resources.shipped("docs")


def test_folders_keep_order_and_read_a_folder_once(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert resources.folders(a, None, [b, a]) == (a, b)


def test_files_by_name_reports_a_name_in_two_folders(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for folder, names in ((first, ("x", "y")), (second, ("y", "z"))):
        folder.mkdir()
        for name in names:
            (folder / f"{name}.yml").write_text("")
    found, clashes = resources.files_by_name([first, second, tmp_path / "absent"])
    assert found == {"x": first / "x.yml", "y": first / "y.yml", "z": second / "z.yml"}
    assert clashes == [resources.SameName("y", first / "y.yml", second / "y.yml")]


def test_settings_add_the_data_folders_own_definitions_when_present(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    assert settings.kpi_definitions == (DEFAULT_DIR,)
    assert settings.mappings == (REPO / "pipelines" / "mappings",)
    (tmp_path / "kpi_definitions").mkdir()
    (tmp_path / "mappings").mkdir()
    assert settings.kpi_definitions == (DEFAULT_DIR, tmp_path / "kpi_definitions")
    assert settings.mappings == (REPO / "pipelines" / "mappings", tmp_path / "mappings")


def test_the_catalog_setting_still_replaces_the_shipped_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = tmp_path / "catalog"
    monkeypatch.setenv("CONTROL_TOWER_KPI_DEFINITIONS", str(mine))
    monkeypatch.setenv("CONTROL_TOWER_MAPPINGS", str(tmp_path / "maps"))
    settings = load_settings(tmp_path / "home")
    assert settings.kpi_definitions == (mine,)
    assert settings.mappings == (tmp_path / "maps",)
    # The data folder's own folder named as the catalog is read once, not twice.
    monkeypatch.setenv("CONTROL_TOWER_KPI_DEFINITIONS", str(tmp_path / "home" / "kpi_definitions"))
    (tmp_path / "home" / "kpi_definitions").mkdir()
    assert load_settings(tmp_path / "home").kpi_definitions == (
        tmp_path / "home" / "kpi_definitions",
    )


def test_an_own_kpi_loads_beside_the_shipped_catalog_over_a_shipped_model(tmp_path: Path) -> None:
    path = _own_kpi(tmp_path, "line_fill_rate_ours")
    settings = load_settings(tmp_path)
    catalog = load_catalog(settings.kpi_definitions)
    assert catalog.kpi("line_fill_rate_ours").path == path
    assert catalog.kpi("line_fill_rate_ours").model.name == "order_lines"
    assert set(load_catalog().kpis) < set(catalog.kpis)
    assert "line_fill_rate_ours" in cached_catalog(settings.kpi_definitions).kpis


def test_an_own_model_is_usable_by_an_own_kpi(tmp_path: Path) -> None:
    models = tmp_path / "kpi_definitions" / "models"
    models.mkdir(parents=True)
    shipped_model = (DEFAULT_DIR / "models" / "order_lines.yml").read_text()
    (models / "order_lines_ours.yml").write_text(
        shipped_model.replace("name: order_lines", "name: order_lines_ours")
    )
    path = _own_kpi(tmp_path, "fill_ours")
    path.write_text(path.read_text().replace("model: order_lines", "model: order_lines_ours"))
    catalog = load_catalog(load_settings(tmp_path).kpi_definitions)
    assert catalog.kpi("fill_ours").model.path == models / "order_lines_ours.yml"


def test_an_own_kpi_named_like_a_shipped_one_is_refused_naming_both(tmp_path: Path) -> None:
    path = _own_kpi(tmp_path, "line_fill_rate")
    with pytest.raises(CatalogError) as err:
        load_catalog(load_settings(tmp_path).kpi_definitions)
    message = str(err.value)
    assert f"KPI 'line_fill_rate' is defined twice: {path}" in message
    assert str(DEFAULT_DIR / "line_fill_rate.yml") in message
    assert "give it another name" in message


def test_an_own_model_named_like_a_shipped_one_is_refused(tmp_path: Path) -> None:
    models = tmp_path / "kpi_definitions" / "models"
    models.mkdir(parents=True)
    (models / "orders.yml").write_text((DEFAULT_DIR / "models" / "orders.yml").read_text())
    with pytest.raises(CatalogError, match="model 'orders' is defined twice"):
        load_catalog(load_settings(tmp_path).kpi_definitions)


def _own_mapping(home: Path, name: str) -> Path:
    folder = home / "mappings"
    folder.mkdir(parents=True, exist_ok=True)
    text = (resources.shipped("mappings") / "dataco.yml").read_text()
    path = folder / f"{name}.yml"
    path.write_text(text.replace("name: dataco", f"name: {name}"))
    return path


def test_an_own_mapping_is_enabled_by_name_from_the_data_folder(tmp_path: Path) -> None:
    path = _own_mapping(tmp_path, "dataco_ours")
    (tmp_path / "sources.yml").write_text("enabled: [dataco_ours, odoo_example]\n")
    settings = load_settings(tmp_path)
    assert [m.path for m in enabled_mappings(settings)] == [
        path,
        resources.shipped("mappings") / "odoo_example.yml",
    ]
    assert {m.path.stem for m in load_mappings(settings.mappings)} == {
        "dataco",
        "odoo_example",
        "dataco_ours",
    }


def test_an_own_mapping_named_like_a_shipped_one_is_refused_naming_both(tmp_path: Path) -> None:
    path = _own_mapping(tmp_path, "dataco")
    (tmp_path / "sources.yml").write_text("enabled: [dataco]\n")
    with pytest.raises(MappingError) as err:
        enabled_mappings(load_settings(tmp_path))
    assert str(path) in str(err.value)
    assert str(resources.shipped("mappings") / "dataco.yml") in str(err.value)


def test_an_unknown_mapping_names_every_folder(tmp_path: Path) -> None:
    _own_mapping(tmp_path, "dataco_ours")
    settings = load_settings(tmp_path)
    with pytest.raises(MappingError, match="known: dataco, dataco_ours, odoo_example") as err:
        load_mappings(settings.mappings, ["nope"])
    assert f"{resources.shipped('mappings')} or {tmp_path / 'mappings'}" in str(err.value)
