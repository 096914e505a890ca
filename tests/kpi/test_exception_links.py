"""A KPI lists the exception types behind its number; the catalog checks them against the registry.

The linkage is not part of the governed content: listing a type changes no
number, so it needs no new version and leaves the content hash alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from control_tower.exceptions.registry import EXCEPTION_TYPES
from control_tower.kpi.catalog import (
    load_catalog,
    load_definition_text,
)
from control_tower.kpi.governance import read_history, record_versions
from control_tower.storage.schema import ensure_schema
from tests.support.kpi_rows import edit, refusal

# The exception types behind each shipped KPI. inventory_turns and inventory_value have none, and
# say why in their definitions; exception_aging counts every item past its SLA.
LINKS: dict[str, tuple[str, ...]] = {
    "available_units": ("stockout_risk",),
    "backorder_aging": ("backordered_line",),
    "carrier_on_time_rate": ("carrier_delay",),
    "days_to_close": ("overdue_close_task",),
    "dock_to_stock_hours": ("receipt_not_put_away",),
    "exception_aging": (),
    "freight_cost_variance": ("freight_cost_overrun",),
    "inventory_record_accuracy": ("cycle_count_variance", "adjustment_anomaly"),
    "inventory_turns": (),
    "inventory_value": (),
    "inventory_unit_accuracy": ("cycle_count_variance",),
    "invoice_first_pass_match_rate": ("unmatched_invoice_line",),
    "line_fill_rate": ("short_shipment",),
    "order_cycle_time_hours": ("order_at_risk", "backordered_line"),
    "order_fill_rate": ("short_shipment",),
    "order_promise_accuracy": ("missed_promise", "order_at_risk"),
    "otif_requested": ("missed_promise", "order_at_risk"),
    "perfect_order_rate": ("missed_promise", "order_at_risk"),
    "stockout_rate": ("stockout_risk",),
    "unit_fill_rate": ("short_shipment",),
    "wave_completion_on_time": ("late_wave",),
    "wave_release_adherence": ("late_wave",),
}


def test_every_kpi_lists_the_types_behind_it() -> None:
    catalog = load_catalog()
    assert {name: kpi.exception_types for name, kpi in catalog.kpis.items()} == LINKS
    assert [n for n, k in catalog.kpis.items() if k.exceptions_past_sla] == ["exception_aging"]
    assert catalog.linked() == tuple(sorted(n for n, types in LINKS.items() if types))
    assert catalog.exception_types("inventory_unit_accuracy") == ("cycle_count_variance",)
    assert catalog.exception_types("no_such_kpi") == ()


def test_a_kpi_without_a_queue_says_why_in_its_definition() -> None:
    catalog = load_catalog()
    without = [n for n, k in catalog.kpis.items() if not k.exception_types]
    assert without == ["exception_aging", "inventory_turns", "inventory_value"]
    assert "# No queue:" in catalog.kpis["inventory_turns"].text
    assert "# No queue:" in catalog.kpis["inventory_value"].text
    assert catalog.kpis["exception_aging"].exceptions_past_sla


def test_every_detected_type_is_behind_a_kpi_except_the_data_problems() -> None:
    behind = {t for types in LINKS.values() for t in types}
    # the data problems (an exchange rate missing too), and the tower's own follow-up of the requests it sent
    assert set(EXCEPTION_TYPES) - behind == {
        "quarantined_rows",
        "stale_source",
        "failing_step",
        "action_not_confirmed",
        "missing_fx_rate",
    }


def test_an_unregistered_type_is_refused_with_the_registered_names(root: Path) -> None:
    edit(root, "unit_fill_rate", "exception_types: [short_shipment]", "exception_types: [short]")
    message = refusal(root)
    assert (
        "kpi_definitions/unit_fill_rate.yml:22: exception_types: 'short' is not a registered "
        f"exception type (registered: {', '.join(EXCEPTION_TYPES)})" in message
    )


def test_the_alert_type_a_repeat_and_a_non_list_are_refused(root: Path) -> None:
    edit(root, "unit_fill_rate", "[short_shipment]", "[short_shipment, kpi_alert, short_shipment]")
    edit(root, "order_fill_rate", "[short_shipment]", "short_shipment")
    message = refusal(root)
    assert "unit_fill_rate.yml:22: exception_types: 'kpi_alert' is the KPI alert type" in message
    assert "unit_fill_rate.yml:22: exception_types: 'short_shipment' is listed twice" in message
    assert "order_fill_rate.yml:22: exception_types: must be a list of exception type" in message


def test_the_list_is_required_and_empty_means_no_queue_yet(root: Path) -> None:
    edit(root, "unit_fill_rate", "exception_types: [short_shipment]\n", "")
    assert "unit_fill_rate.yml:1: exception_types: is required" in refusal(root)
    edit(root, "unit_fill_rate", "unit: percent\n", "unit: percent\nexception_types: []\n")
    kpi = load_catalog(root).kpi("unit_fill_rate")
    assert kpi.exception_types == ()
    assert not kpi.exceptions_past_sla


def test_the_retired_queue_key_is_refused(root: Path) -> None:
    edit(
        root,
        "otif_requested",
        "exception_types: [missed_promise, order_at_risk]",
        "exception_queue: late_delivery",
    )
    message = refusal(root)
    assert "otif_requested.yml:22: exception_queue: unknown key" in message


def test_past_sla_items_take_no_type_list(root: Path) -> None:
    edit(root, "exception_aging", "exception_types: []", "exception_types: [late_wave]")
    message = refusal(root)
    assert "exception_aging.yml:26: exception_types: exceptions_past_sla: true already" in message
    edit(root, "exception_aging", "exceptions_past_sla: true", "exceptions_past_sla: yes please")
    assert "exceptions_past_sla: 'yes please' is not true or false" in refusal(root)


def test_the_types_behind_a_kpi_do_not_change_its_content_hash(root: Path) -> None:
    before = load_catalog(root).kpi("order_promise_accuracy")
    edit(
        root,
        "order_promise_accuracy",
        "exception_types: [missed_promise, order_at_risk]",
        "exception_types: [late_wave]",
    )
    after = load_catalog(root).kpi("order_promise_accuracy")
    assert after.exception_types == ("late_wave",)
    assert after.status == "certified"
    assert after.content_hash == before.content_hash
    edit(root, "order_promise_accuracy", "target: ", "target: 0.5\nignored_target: ")
    assert "ignored_target: unknown key" in refusal(root)


def test_a_version_recorded_with_the_retired_queue_key_still_matches(root: Path) -> None:
    """History recorded before `exception_types` keeps the definition's version valid."""
    kpi = load_catalog(root).kpi("line_fill_rate")
    legacy = kpi.text.replace("exception_types: [short_shipment]", "exception_queue: unfilled_line")
    assert legacy != kpi.text
    models = json.dumps({m.name: m.text for m in kpi.chain})
    con = duckdb.connect()
    ensure_schema(con)
    con.execute(
        "INSERT INTO ops.kpi_versions VALUES (?, 1, ?, 'certified', ?, ?, ?, now())",
        ["line_fill_rate", "f" * 64, kpi.owner, legacy, models],
    )
    (record,) = read_history(con)
    assert record.content_hash == kpi.content_hash
    assert load_catalog(root, history=[record]).kpi("line_fill_rate").version == 1
    assert record_versions(con, [kpi]) == 0  # the same governed content: nothing new to record
    rebuilt = load_definition_text(legacy, json.loads(models), name="line_fill_rate")
    assert rebuilt.content_hash == kpi.content_hash
    assert rebuilt.exception_types == ()
