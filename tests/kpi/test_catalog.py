"""The catalog loads the shipped definitions and refuses broken ones with file, line, key and reason."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest

from control_tower.kpi.catalog import HistoryRecord, SignOff, load_catalog
from tests.support.kpi_rows import edit, refusal

CERTIFIED = {
    "line_fill_rate",
    "unit_fill_rate",
    "order_fill_rate",
    "order_promise_accuracy",
    "inventory_record_accuracy",
    "exception_aging",
    "supplier_otif",
    "otif_requested",
    "perfect_order_rate",
    "days_to_close",
    "wave_release_adherence",
    "wave_completion_on_time",
    "dock_to_stock_hours",
    "carrier_on_time_rate",
    "invoice_first_pass_match_rate",
    "stockout_rate",
}


def test_the_shipped_catalog_loads_with_the_certified_kpis() -> None:
    catalog = load_catalog()
    assert {k.name for k in catalog.kpis.values() if k.status == "certified"} == CERTIFIED
    assert catalog.kpi("line_fill_rate").model.name == "order_lines"


@pytest.mark.parametrize(
    ("name", "old", "new", "message"),
    [
        (
            "line_fill_rate",
            "owner: customer-service\n",
            "owner: customer-service\ncolour: red\n",
            "kpi_definitions/line_fill_rate.yml:10: colour: unknown key",
        ),
        (
            "line_fill_rate",
            "model: order_lines",
            "model: order_line",
            "line_fill_rate.yml:13: model: no model 'order_line' in models/",
        ),
        (
            "line_fill_rate",
            "exception_types: [short_shipment]",
            "exception_types: [unfilled]",
            "line_fill_rate.yml:24: exception_types: 'unfilled' is not a registered exception "
            "type (registered: stockout_risk, backordered_line, short_shipment,",
        ),
        (
            "line_fill_rate",
            "status: certified",
            "status: approved",
            "status: 'approved' is not one of: draft, certified, deprecated",
        ),
        (
            "line_fill_rate",
            "version: 1",
            "version: one",
            "version: 'one' is not a positive integer",
        ),
        (
            "line_fill_rate",
            "owner: customer-service\n",
            "",
            "line_fill_rate.yml:1: owner: is required",
        ),
        (
            "line_fill_rate",
            "One row per order line.",
            "",
            "description: must state the grain sentence of model 'order_lines': 'one row per order line'",
        ),
        (
            "line_fill_rate",
            "expr: is_first_time_filled",
            "expr: is_filled",
            "measures.numerator.expr: column 'is_filled' is not exposed by model 'order_lines'",
        ),
        (
            "line_fill_rate",
            "dimensions: [location_id,",
            "dimensions: [warehouse,",
            "dimensions: 'warehouse' is not a dimension of model 'order_lines'",
        ),
        (
            "line_fill_rate",
            "time_dimension: order_date",
            "time_dimension: shipped_date",
            "time_dimension: 'shipped_date' is not a time dimension of model 'order_lines'",
        ),
        (
            "line_fill_rate",
            "  denominator:",
            "  total:",
            "measures: a ratio has exactly the measures numerator and denominator",
        ),
        (
            "inventory_record_accuracy",
            "  tolerance_c:",
            "  tolerance_x:",
            "parameters.tolerance_x: model 'inventory_counts' does not use this parameter",
        ),
        (
            "line_fill_rate",
            "thresholds: {warn: 0.92, breach: 0.88}",
            "thresholds: {warn: 0.88, breach: 0.92}",
            "thresholds: higher_is_better: breach must not be above warn",
        ),
        (
            "line_fill_rate",
            "label: Line fill rate (first time)\n",
            "label: x\nlabel: y\n",
            "line_fill_rate.yml:3: label: duplicate key",
        ),
    ],
)
def test_a_broken_definition_is_refused(
    root: Path, name: str, old: str, new: str, message: str
) -> None:
    edit(root, name, old, new)
    assert message in refusal(root)


def test_a_duplicate_name_is_refused(root: Path) -> None:
    shutil.copy(root / "line_fill_rate.yml", root / "fill_copy.yml")
    edit(root, "fill_copy", "name: line_fill_rate", "name: fill_copy")
    edit(root, "fill_copy", "name: fill_copy", "name: line_fill_rate")
    assert "name: 'line_fill_rate' must equal the file name 'fill_copy'" in refusal(root)


def test_a_model_reading_an_unknown_table_is_refused(root: Path) -> None:
    path = root / "models" / "invoice_lines.yml"
    path.write_text(path.read_text().replace("FROM ap_invoice_lines", "FROM ap_invoices"))
    assert (
        "models/invoice_lines.yml:11: sql: reads 'ap_invoices', which is not a landed table"
        in refusal(root)
    )


def _record(kpi_name: str, root: Path, *, version: int, digest: str, status: str) -> HistoryRecord:
    return HistoryRecord(kpi_name, version, digest, status, "someone", "", "{}", None)


def test_a_changed_certified_definition_must_raise_its_version(root: Path) -> None:
    history = [_record("line_fill_rate", root, version=1, digest="0" * 64, status="certified")]
    message = refusal(root, history)
    assert "line_fill_rate.yml: version: certified definition changed" in message
    assert "but its version is still 1: raise it to 2" in message
    edit(root, "line_fill_rate", "version: 1", "version: 2")
    assert load_catalog(root, history=history).kpi("line_fill_rate").version == 2


def test_a_draft_may_change_without_a_new_version(root: Path) -> None:
    history = [_record("backorder_aging", root, version=1, digest="0" * 64, status="draft")]
    assert load_catalog(root, history=history).kpi("backorder_aging").version == 1


def test_a_signed_off_draft_may_not_change_without_a_new_version(root: Path) -> None:
    """Recorded as a draft, but that version was signed off (in the app database): it is
    certified, and a change under the same version number is refused."""
    history = [_record("backorder_aging", root, version=1, digest="0" * 64, status="draft")]
    signed = SignOff("backorder_aging", 1, "0" * 64, "eve", datetime(2026, 12, 1, 9, 0))
    message = refusal(root, history, signoffs=[signed])
    assert "backorder_aging.yml: version: certified definition changed" in message
    assert "raise it to 2" in message


def test_a_version_below_the_recorded_one_is_refused(root: Path) -> None:
    history = [_record("backorder_aging", root, version=3, digest="0" * 64, status="draft")]
    assert "version: version 1 is below the recorded version 3" in refusal(root, history)
