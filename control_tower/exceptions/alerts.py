"""KPI alerts: rules on materialised KPI values, their states, queue items and notifications.

A rule watches one KPI at one scope (overall, one dimension value, or every
value of a dimension, `scope: "*"`) by day in `kpi.values`, and tests each
complete period (before as_of) with one condition:

    threshold   value <op> limit                       e.g. line_fill_rate < 0.95
    change      value - previous period <op> limit     e.g. drop of more than 0.05
                (relative: true divides by |previous|)

A scope whose last `periods` periods all meet the condition is firing; one
that meets it in fewer recent periods is pending; otherwise ok. A firing
alert stays firing while its latest period meets the condition and becomes
resolved (then ok) when it does not. Evaluation is one DuckDB query per rule.

Entering firing opens (or reopens) one queue item of type `kpi_alert` and
notifies once; while it persists it re-raises every `renotify_hours` (unless
a person has resolved or snoozed its item); when it resolves, its item is
resolved with reason "cleared" and a resolved notice is sent.

Rules are data: a YAML file (`alert_rules.yml` in the data folder), read
by `load_alert_rules`, which names the file and rule of every mistake.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import yaml
from sqlalchemy import select

from control_tower.exceptions.mirror import mirror
from control_tower.exceptions.notify import (
    Channel,
    Notification,
    OutboxPolicy,
    RetryPolicy,
    channels_from_settings,
    deliver,
)
from control_tower.exceptions.registry import ALERT_TYPE, OWNER_ROLES, SEVERITIES
from control_tower.exceptions.store import (
    SYSTEM_USER,
    UNRESOLVED,
    AlertState,
    AuditEntry,
    ExceptionItem,
    ExceptionStore,
)
from control_tower.exceptions.workflow import CLEARED
from control_tower.settings import Settings, utc_now

STATES: tuple[str, ...] = ("ok", "pending", "firing", "resolved")
CONDITIONS: tuple[str, ...] = ("threshold", "change")
OPS: tuple[str, ...] = ("<", "<=", ">", ">=")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_SCOPED = {"location_id": "location_id", "entity_id": "entity_id", "item_id": "item_id"}


class AlertRuleError(ValueError):
    """An alert rule file or rule that cannot be used."""


@dataclass(frozen=True)
class AlertRule:
    """A condition on one KPI at one scope, with who owns it and how often to remind them."""

    name: str
    kpi: str
    condition: str
    op: str
    limit: float
    dimension: str = "ALL"
    scope: str = "ALL"  # the dimension's value, or "*" for each value
    relative: bool = False
    periods: int = 1
    severity: str = "medium"
    owner_role: str = "executive"
    sla_hours: float = 24.0
    renotify_hours: float = 24.0
    description: str = ""

    def __post_init__(self) -> None:
        where = f"alert rule {self.name!r}"
        problems = []
        if not _NAME.match(self.name):
            problems.append("the name must be snake_case")
        if not _NAME.match(self.kpi):
            problems.append(f"kpi {self.kpi!r} is not a KPI name")
        if self.dimension != "ALL" and not _NAME.match(self.dimension):
            problems.append(f"dimension {self.dimension!r} is not a dimension name")
        if self.dimension == "ALL" and self.scope != "ALL":
            problems.append("a scope value needs a dimension")
        if self.condition not in CONDITIONS:
            problems.append(f"condition {self.condition!r} is not one of {CONDITIONS}")
        if self.op not in OPS:
            problems.append(f"op {self.op!r} is not one of {OPS}")
        if not isinstance(self.limit, int | float) or not math.isfinite(self.limit):
            problems.append(f"limit {self.limit!r} is not a number")
        if not isinstance(self.periods, int) or self.periods < 1:
            problems.append("periods must be a whole number >= 1")
        if self.severity not in SEVERITIES:
            problems.append(f"severity {self.severity!r} is not one of {SEVERITIES}")
        if self.owner_role not in OWNER_ROLES:
            problems.append(f"owner_role {self.owner_role!r} is not one of {OWNER_ROLES}")
        if self.sla_hours <= 0 or self.renotify_hours <= 0:
            problems.append("sla_hours and renotify_hours must be positive")
        if problems:
            raise AlertRuleError(f"{where}: " + "; ".join(problems))


_RULE_KEYS = {f.name for f in fields(AlertRule)}


def load_alert_rules(path: Path) -> list[AlertRule]:
    """The rules of a YAML file (`rules:` list); [] if the file does not exist."""
    if not path.exists():
        return []
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise AlertRuleError(f"{path}: not valid YAML: {exc}") from None
    if (
        not isinstance(data, dict)
        or set(data) - {"rules"}
        or not isinstance(data.get("rules", []), list)
    ):
        raise AlertRuleError(f"{path}: expected a mapping with one key, rules: [ ... ]")
    rules: list[AlertRule] = []
    for n, raw in enumerate(data.get("rules") or [], start=1):
        where = f"{path}, rule {n}"
        if not isinstance(raw, dict):
            raise AlertRuleError(f"{where}: expected a mapping")
        unknown = set(raw) - _RULE_KEYS
        if unknown:
            raise AlertRuleError(
                f"{where}: unknown keys {sorted(unknown)}; known: {sorted(_RULE_KEYS)}"
            )
        missing = {"name", "kpi", "condition", "op", "limit"} - set(raw)
        if missing:
            raise AlertRuleError(f"{where}: missing {sorted(missing)}")
        try:
            rule = AlertRule(**{k: (str(v) if k == "scope" else v) for k, v in raw.items()})
        except (AlertRuleError, TypeError) as exc:
            raise AlertRuleError(f"{where}: {exc}") from None
        if rule.name in {r.name for r in rules}:
            raise AlertRuleError(f"{where}: rule name {rule.name!r} is used twice")
        rules.append(rule)
    return rules


@dataclass(frozen=True)
class Judgement:
    """A rule's view of one scope value at its latest period."""

    scope_value: str
    period: date
    value: float
    previous: float | None
    streak: int  # consecutive latest periods meeting the condition


def _rule_sql(rule: AlertRule) -> str:
    measured = "value"
    if rule.condition == "change":
        measured = "(value - previous)" + (" / nullif(abs(previous), 0)" if rule.relative else "")
    # op comes from the OPS whitelist; every value is a bound parameter.
    return f"""
    WITH series AS (
        SELECT dimension_value AS scope_value, period, value,
               lag(value) OVER (PARTITION BY dimension_value ORDER BY period) AS previous
        FROM kpi.values
        WHERE kpi = $kpi AND grain = 'day' AND dimension = $dimension
          AND ($scope = '*' OR dimension_value = $scope)
          AND dimension_value IS NOT NULL AND period < $as_of AND value IS NOT NULL
    ),
    judged AS (
        SELECT *, coalesce({measured} {rule.op} $limit, false) AS hit,
               row_number() OVER (PARTITION BY scope_value ORDER BY period DESC) AS recency
        FROM series
    )
    SELECT scope_value,
           any_value(period) FILTER (WHERE recency = 1) AS period,
           any_value(value) FILTER (WHERE recency = 1) AS value,
           any_value(previous) FILTER (WHERE recency = 1) AS previous,
           coalesce(min(recency) FILTER (WHERE NOT hit), max(recency) + 1) - 1 AS streak
    FROM judged GROUP BY scope_value
    """


def judge(con: duckdb.DuckDBPyConnection, rule: AlertRule, *, as_of: date) -> list[Judgement]:
    """Where the rule stands for each scope value at the latest complete period."""
    rows = con.execute(
        _rule_sql(rule),
        {
            "kpi": rule.kpi,
            "dimension": rule.dimension,
            "scope": rule.scope,
            "as_of": as_of,
            "limit": float(rule.limit),
        },
    ).fetchall()
    return [Judgement(r[0], r[1], r[2], r[3], int(r[4])) for r in rows]


@dataclass
class AlertReport:
    """What one alert evaluation did."""

    rules: int = 0
    states: dict[str, int] = field(default_factory=dict)
    fired: int = 0
    reraised: int = 0
    resolved: int = 0
    failed_deliveries: int = 0

    def summary(self) -> str:
        """One line for the run record."""
        counts = ", ".join(f"{n} {s}" for s, n in sorted(self.states.items())) or "no scopes"
        text = (
            f"{self.rules} alert rules ({counts}): {self.fired} fired, {self.reraised} re-raised, "
            f"{self.resolved} resolved"
        )
        return text + (
            f"; {self.failed_deliveries} deliveries failed (kept in the outbox for later runs)"
            if self.failed_deliveries
            else ""
        )


def _next_state(previous: str, streak: int, periods: int) -> str:
    if previous == "firing":
        return "firing" if streak > 0 else "resolved"
    if streak >= periods:
        return "firing"
    return "pending" if streak > 0 else "ok"


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def _message(rule: AlertRule, scope: str, kind: str, j: Judgement | None) -> tuple[str, str]:
    where = "overall" if rule.dimension == "ALL" else f"{rule.dimension}={scope}"
    verb = {"firing": "FIRING", "reraised": "STILL FIRING", "resolved": "RESOLVED"}[kind]
    subject = f"[{verb}] {rule.name}: {rule.kpi} {where}"
    test = f"{'change of ' if rule.condition == 'change' else ''}{rule.kpi} {rule.op} {rule.limit}"
    body = (
        f"Alert rule {rule.name} ({test}"
        + (f", {rule.periods} periods in a row" if rule.periods > 1 else "")
        + f") is {verb.lower()} for {where}.\n"
        + (
            f"Latest period {j.period}: value {_fmt(j.value)}, previous {_fmt(j.previous)}.\n"
            if j
            else "No current value.\n"
        )
        + (f"{rule.description}\n" if rule.description else "")
    )
    return subject, body


def _audit(
    s: Any, item: ExceptionItem, action: str, changes: dict[str, Any], now: datetime
) -> None:
    s.flush()
    s.add(
        AuditEntry(
            item_id=item.id,
            actor=SYSTEM_USER,
            at=now,
            action=action,
            changes=changes,
            version=item.version,
        )
    )


def _open_item(
    s: Any, rule: AlertRule, scope: str, j: Judgement, now: datetime, *, reopen: bool
) -> ExceptionItem:
    """Create the alert's queue item, or (`reopen`) reopen it; refreshes its facts either way.

    While an alert keeps firing, a person's resolution of its item stands (reopen=False).
    """
    key = f"{rule.name}|{scope}"
    item = s.scalars(
        select(ExceptionItem).where(ExceptionItem.type == ALERT_TYPE, ExceptionItem.key == key)
    ).one_or_none()
    detail = {
        "rule": rule.name,
        "kpi": rule.kpi,
        "dimension": rule.dimension,
        "scope_value": scope,
        "condition": rule.condition,
        "op": rule.op,
        "limit": rule.limit,
        "period": j.period.isoformat(),
        "value": j.value,
        "previous": j.previous,
        "streak": j.streak,
    }
    dim = _SCOPED.get(rule.dimension)
    if item is None:
        item = ExceptionItem(
            type=ALERT_TYPE,
            key=key,
            status="open",
            severity=rule.severity,
            owner_role=rule.owner_role,
            sla_hours=rule.sla_hours,
            created_at=now,
            last_seen_at=now,
            times_seen=1,
            active=True,
            detail=detail,
            **({dim: scope} if dim else {}),
        )
        s.add(item)
        _audit(s, item, "created", {"status": [None, "open"]}, now)
        return item
    item.detail, item.last_seen_at, item.active = detail, now, True
    item.times_seen += 1
    if reopen and item.status == "resolved":
        changes = {"status": ["resolved", "open"], "resolution_code": [item.resolution_code, None]}
        item.status, item.resolved_at, item.resolution_code = "open", None, None
        _audit(s, item, "reopened", changes, now)
    return item


def _clear_item(s: Any, item_id: int | None, now: datetime) -> None:
    item = s.get(ExceptionItem, item_id) if item_id else None
    if item is None:
        return
    item.active = False
    if item.status in UNRESOLVED:
        changes = {"status": [item.status, "resolved"], "resolution_code": [None, CLEARED]}
        item.status, item.resolved_at, item.resolution_code = "resolved", now, CLEARED
        item.snoozed_until = None
        _audit(s, item, "cleared", changes, now)


def refresh_alerts(
    con: duckdb.DuckDBPyConnection,
    store: ExceptionStore,
    rules: Sequence[AlertRule],
    *,
    as_of: date,
    now: datetime,
    channels: Sequence[Channel] = (),
    policy: RetryPolicy | None = None,
    outbox: OutboxPolicy | None = None,
) -> AlertReport:
    """Judge every rule, move each scope's state, keep queue items in step, notify."""
    report = AlertReport(rules=len(rules))
    notices: list[Notification] = []
    for rule in rules:
        judged = {j.scope_value: j for j in judge(con, rule, as_of=as_of)}
        with store.session() as s:
            states = {
                st.scope_value: st
                for st in s.scalars(select(AlertState).where(AlertState.rule == rule.name))
            }
            for scope in sorted(judged.keys() | states.keys()):
                j = judged.get(scope)
                st = states.get(scope)
                if st is None:
                    st = AlertState(
                        rule=rule.name, scope_value=scope, state="ok", since=now, evaluated_at=now
                    )
                    st.notifications = 0
                    s.add(st)
                previous = st.state
                new = _next_state(previous, j.streak if j else 0, rule.periods)
                kind = None
                if new == "firing" and previous != "firing":
                    assert j is not None
                    item = _open_item(s, rule, scope, j, now, reopen=True)
                    st.exception_id = item.id
                    kind = "firing"
                elif new == "firing":
                    assert j is not None
                    item = _open_item(s, rule, scope, j, now, reopen=False)
                    due = (st.last_notified_at or st.since) + timedelta(hours=rule.renotify_hours)
                    if item.status in ("open", "acknowledged") and now >= due:
                        kind = "reraised"
                elif new == "resolved":
                    _clear_item(s, st.exception_id, now)
                    kind = "resolved"
                if new != previous:
                    st.state, st.since = new, now
                st.evaluated_at, st.streak = now, j.streak if j else 0
                st.period, st.value = (j.period, j.value) if j else (st.period, st.value)
                if kind:
                    st.last_notified_at = now
                    st.notifications = (st.notifications or 0) + 1
                    subject, body = _message(rule, scope, kind, j)
                    notices.append(
                        Notification(
                            rule=rule.name,
                            scope_value=scope,
                            kind=kind,
                            subject=subject,
                            body=body,
                            at=now,
                            exception_id=st.exception_id,
                            payload={"kpi": rule.kpi, "value": j.value if j else None},
                        )
                    )
                    counter = {"firing": "fired"}.get(kind, kind)
                    setattr(report, counter, getattr(report, counter) + 1)
                report.states[new] = report.states.get(new, 0) + 1
    # Deliver after the states are committed: a slow or failing channel never loses a state change.
    for note in notices:
        records = deliver(store, note, channels, policy, outbox)
        report.failed_deliveries += sum(r.status == "pending" for r in records)
    return report


def run_alerts(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    *,
    as_of: date,
    now: datetime | None = None,
    policy: RetryPolicy | None = None,
) -> AlertReport:
    """The post-load step: the installation's rules, its channels, then the queue mirrored again."""
    rules = load_alert_rules(settings.alert_rules_path)
    now = now or utc_now()
    with ExceptionStore.open(settings.app_db_url) as store:
        report = refresh_alerts(
            con,
            store,
            rules,
            as_of=as_of,
            now=now,
            channels=channels_from_settings(settings),
            policy=policy,
            outbox=OutboxPolicy.from_settings(settings),
        )
        if rules:
            mirror(con, store)
    known = {r[0] for r in con.execute("SELECT DISTINCT kpi FROM kpi.values").fetchall()}
    unknown = sorted({r.kpi for r in rules} - known)
    if unknown:
        raise AlertRuleError(
            f"{settings.alert_rules_path}: no values for KPI(s) {', '.join(unknown)} in kpi.values "
            "(misspelt, or the KPI step failed); their rules stay ok"
        )
    return report
