"""A fired KPI alert tells the users who follow its rule in the app, within their scope, once."""

from __future__ import annotations

from datetime import timedelta

from control_tower.exceptions.store import AlertNotification, ExceptionStore
from control_tower.notifications import list_notifications
from control_tower.notifications.service import run_escalation
from control_tower.settings import Settings
from tests.support.notification_cases import T0, add_item, write


def _fired(store: ExceptionStore, rule: str, item_id: int, hours: float) -> None:
    with store.session() as s:
        s.add(
            AlertNotification(
                rule=rule, scope_value="DC-NJ", kind="firing", channel="app",
                created_at=T0 + timedelta(hours=hours), status="sent", attempts=1,
                subject=f"[FIRING] {rule}: line_fill_rate location_id=DC-NJ", body="below",
                exception_id=item_id,
            )
        )  # fmt: skip


def test_followers_in_scope_are_told_once(settings: Settings, store: ExceptionStore) -> None:
    write(
        settings.subscriptions_path,
        "users:\n  pat:\n    kpi_alerts: '*'\n  pia:\n    kpi_alerts: '*'\n"
        "  sam:\n    kpi_alerts: [otif_low]\n",
    )
    item = add_item(store, type="kpi_alert", key="fill_low|DC-NJ", owner_role="executive")
    _fired(store, "fill_low", item.id, 1)
    report = run_escalation(settings, now=T0 + timedelta(hours=2))
    assert report.alert_notices == 1
    (notice,) = list_notifications(store, "pat")
    assert (notice.kind, notice.link) == ("kpi_alert", f"/exceptions/{item.id}")
    assert notice.subject.startswith("[FIRING] fill_low")
    assert list_notifications(store, "pia") == []  # DC-TX only
    assert list_notifications(store, "sam") == []  # follows another rule
    assert run_escalation(settings, now=T0 + timedelta(hours=3)).alert_notices == 0
    _fired(store, "otif_low", item.id, 4)
    assert run_escalation(settings, now=T0 + timedelta(hours=5)).alert_notices == 2
    assert [n.subject[:18] for n in list_notifications(store, "sam")] == ["[FIRING] otif_low:"]
