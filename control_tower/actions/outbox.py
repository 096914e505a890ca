"""The action outbox: approved requests delivered to the systems that execute them.

Channels (docs/actions.md, "Outbox format"):

- files, always: `<home>/outbox/<system>/<type>_<request_uid>.json` and `.csv`, each written
  whole to a temporary file and renamed into place (a reader never sees half a file),
  owner-only like every data file. A file already there with the same content is left as it
  is; one with other content is never overwritten (the delivery fails, naming the file).
- webhook, when `CONTROL_TOWER_ACTION_WEBHOOK_URL` is set: the JSON document POSTed with the
  request uid as `Idempotency-Key` and an HMAC-SHA256 signature of `"<unix time>.<body>"`
  with the shared secret in `X-Control-Tower-Signature: t=<unix time>,v1=<hex>`.

Each request has one delivery row per channel (`exc_action_deliveries`). A channel is tried
up to `RetryPolicy.attempts` times in a run; a delivery that failed them all is due again
after `OutboxPolicy`'s back-off in a later run (every pipeline run dispatches), and given up
once older than the give-up age (event `delivery_given_up`; the data-health page lists it).
A delivered channel is never sent again, so dispatching twice re-sends nothing. A request
becomes `sent` when every configured channel delivered it: `sent_at`, and `expected_by` = its
action date (or the day sent) + `CONTROL_TOWER_ACTION_CONFIRM_GRACE_DAYS`.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import os
import time
import urllib.request
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypedDict

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from control_tower.actions.store import ActionDelivery, ActionEvent, ActionRequest
from control_tower.exceptions.notify import (
    Notification,
    OutboxPolicy,
    RetryPolicy,
    send_with_retries,
)
from control_tower.exceptions.outbox import DeliveryRow
from control_tower.exceptions.outbox import attention as notification_attention
from control_tower.exceptions.store import SYSTEM_USER, ExceptionStore
from control_tower.settings import PRIVATE_FILE_MODE, Settings, private_dir, utc_now

ATTENTION = ("pending", "failed")
# How long a dispatcher holds a delivery it is sending (longer than its tries can take).
CLAIM = timedelta(minutes=10)

# The CSV columns of each request type, in order: the fixed head, the type's parameters, the
# fixed tail. The JSON document has the same facts with the parameters nested in `params`.
CSV_HEAD: tuple[str, ...] = ("request_uid", "type", "system")
CSV_TAIL: tuple[str, ...] = (
    "exception_id",
    "value",
    "requested_by",
    "requested_at",
    "approved_by",
    "approved_at",
    "note",
)
PARAM_COLUMNS: dict[str, tuple[str, ...]] = {
    "stock_transfer": ("from_location_id", "to_location_id", "item_id", "quantity", "ship_date"),
    "po_expedite": ("po_id", "po_line_no", "new_expected_date"),
    "purchase_requisition": ("item_id", "location_id", "quantity", "supplier_id", "need_date"),
    "re_promise": ("order_id", "line_no", "new_promised_date"),
    "recount": ("location_id", "item_id", "bin_id"),
    "invoice_hold": ("invoice_id", "line_no"),
    "invoice_release": ("invoice_id", "line_no"),
}
# The parameter holding the day a type's action is due; the others are due the day they are sent.
ACTION_DATE: dict[str, str] = {
    "stock_transfer": "ship_date",
    "po_expedite": "new_expected_date",
    "purchase_requisition": "need_date",
    "re_promise": "new_promised_date",
}


def csv_columns(request_type: str) -> tuple[str, ...]:
    """The header of a request type's CSV file."""
    return (*CSV_HEAD, *PARAM_COLUMNS[request_type], *CSV_TAIL)


def _stamp(value: datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def document(request: ActionRequest) -> dict[str, Any]:
    """What the executing system gets: the request as approved (the same on every delivery)."""
    return {
        "request_uid": request.request_uid,
        "type": request.type,
        "system": request.system,
        "status": "approved",
        "params": dict(request.params or {}),
        "exception_id": request.exception_id,
        "value": request.value,
        "requested_by": request.requested_by,
        "requested_at": _stamp(request.requested_at),
        "approved_by": request.decided_by,
        "approved_at": _stamp(request.decided_at),
        "note": request.note,
    }


def json_body(doc: dict[str, Any]) -> str:
    """The JSON text of a document: the file's content and the webhook's body, byte for byte."""
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, indent=2) + "\n"


def csv_text(doc: dict[str, Any]) -> str:
    """The CSV file of a document: the type's header row and one row (empty for None)."""
    flat = {**doc, **doc["params"]}
    columns = csv_columns(doc["type"])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerow(["" if flat.get(c) is None else flat[c] for c in columns])
    return out.getvalue()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The `X-Control-Tower-Signature` value of a webhook body sent at `timestamp` (unix)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def write_once(path: Path, text: str) -> bool:
    """Write `text` to `path` atomically and owner-only; False when it holds that text already.

    Raises FileExistsError when `path` holds something else: a delivered file is never
    replaced by a different one."""
    data = text.encode()
    if path.exists():
        if path.read_bytes() == data:
            return False
        raise FileExistsError(f"{path} exists with other content; it is left as it is")
    private_dir(path.parent)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return True


@dataclass(frozen=True)
class FileChannel:
    """The outbox folder: a JSON and a CSV file per request in `<root>/<system>/`."""

    root: Path
    name: str = "file"

    def paths(self, doc: dict[str, Any]) -> tuple[Path, Path]:
        """The request's JSON and CSV files."""
        stem = self.root / doc["system"] / f"{doc['type']}_{doc['request_uid']}"
        return stem.with_suffix(".json"), stem.with_suffix(".csv")

    def target(self, doc: dict[str, Any]) -> str:
        """Where the request is delivered (both files)."""
        return " and ".join(str(p) for p in self.paths(doc))

    def send(self, note: Notification) -> None:
        """Write the request's two files (raises OSError)."""
        doc = json.loads(note.body)
        json_path, csv_path = self.paths(doc)
        write_once(csv_path, csv_text(doc))
        write_once(json_path, note.body)


@dataclass(frozen=True)
class SignedWebhookChannel:
    """A signed JSON POST per request; any answer but 2xx is a failure."""

    url: str
    secret: str = ""
    timeout: float = 10.0
    name: str = "webhook"

    def target(self, doc: dict[str, Any]) -> str:
        """Where the request is delivered."""
        return self.url

    def send(self, note: Notification) -> None:
        """POST the body with its idempotency key and signature (raises OSError)."""
        body = note.body.encode()
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": note.scope_value,
            "X-Control-Tower-Signature": sign(self.secret, int(time.time()), body),
        }
        req = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:
            if not 200 <= resp.status < 300:
                raise OSError(f"webhook {self.url} answered HTTP {resp.status}")


def channels_from_settings(settings: Settings) -> list[FileChannel | SignedWebhookChannel]:
    """The configured channels: the files always, the webhook when its URL is set."""
    channels: list[FileChannel | SignedWebhookChannel] = [FileChannel(settings.outbox)]
    if settings.action_webhook_url:
        channels.append(
            SignedWebhookChannel(settings.action_webhook_url, settings.action_webhook_secret or "")
        )
    return channels


@dataclass
class DispatchReport:
    """What one dispatch did."""

    requests: int = 0  # approved requests looked at
    delivered: int = 0  # channel deliveries that succeeded
    failed: int = 0  # channel deliveries that failed this run, due again later
    given_up: int = 0
    sent: int = 0  # requests that became sent

    def summary(self) -> str:
        """One line for the log."""
        return (
            f"action outbox: {self.requests} requests, {self.delivered} deliveries made, "
            f"{self.failed} failed (retried later), {self.given_up} given up, {self.sent} sent"
        )


def expected_by(request: ActionRequest, sent_day: date, grace_days: int) -> date:
    """The day by which an extract should show the request done."""
    key = ACTION_DATE.get(request.type)
    raw = (request.params or {}).get(key) if key else None
    action_day = date.fromisoformat(raw) if raw else sent_day
    return max(action_day, sent_day) + timedelta(days=grace_days)


def _note(doc: dict[str, Any], now: datetime) -> Notification:
    return Notification(
        rule=f"action request {doc['request_uid']}",
        scope_value=doc["request_uid"],
        kind=doc["type"],
        subject=f"{doc['type']} {doc['request_uid']}",
        body=json_body(doc),
        at=now,
        exception_id=doc["exception_id"],
    )


def event(
    request_id: int, now: datetime, name: str, note: str | None, **detail: Any
) -> ActionEvent:
    """A step `name` of a request's life done by the tower itself (the `system` user)."""
    return ActionEvent(
        request_id=request_id, at=now, actor=SYSTEM_USER, event=name, note=note, detail=detail
    )


def dispatch(
    store: ExceptionStore,
    settings: Settings,
    *,
    now: datetime,
    request_ids: Collection[int] | None = None,
    retry: RetryPolicy | None = None,
    channels: Sequence[FileChannel | SignedWebhookChannel] | None = None,
) -> DispatchReport:
    """Deliver approved requests on every configured channel (see the module docstring).

    `request_ids` None: every approved request not yet sent whose deliveries are due. `now`
    is naive UTC like the app database (an aware instant is converted)."""
    now = now.astimezone(UTC).replace(tzinfo=None) if now.tzinfo else now
    retry = retry or RetryPolicy()
    outbox = OutboxPolicy.from_settings(settings)
    chans = list(channels if channels is not None else channels_from_settings(settings))
    report = DispatchReport()
    query = select(ActionRequest).where(ActionRequest.status == "approved")
    if request_ids is not None:
        query = query.where(ActionRequest.id.in_(list(request_ids)))
    with store.session() as s:
        requests = list(s.scalars(query.order_by(ActionRequest.id)))
    for request in requests:
        report.requests += 1
        doc = document(request)
        done = 0
        for channel in chans:
            done += _deliver(store, request.id, doc, channel, now, retry, outbox, report)
        if done == len(chans):
            report.sent += _mark_sent(store, request.id, now, settings.action_confirm_grace_days)
    return report


def dispatch_pending(settings: Settings, *, now: datetime | None = None) -> DispatchReport:
    """The pipeline's pass over the action outbox (every run, even one with nothing new)."""
    with ExceptionStore.open(settings.app_db_url) as store:
        return dispatch(store, settings, now=now or utc_now())


def _deliver(
    store: ExceptionStore,
    request_id: int,
    doc: dict[str, Any],
    channel: FileChannel | SignedWebhookChannel,
    now: datetime,
    retry: RetryPolicy,
    outbox: OutboxPolicy,
    report: DispatchReport,
) -> int:
    """Deliver one request on one channel when due; 1 when it is delivered (now or before)."""
    with store.session() as s:
        row = s.scalars(
            select(ActionDelivery).where(
                ActionDelivery.request_id == request_id, ActionDelivery.channel == channel.name
            )
        ).first()
        if row is None:
            row = ActionDelivery(
                request_id=request_id,
                channel=channel.name,
                target=channel.target(doc),
                status="pending",
                attempts=0,
                rounds=0,
                created_at=now,
            )
            s.add(row)
    if row.status != "pending" or not _claim(store, row.id, now):
        return int(row.status == "sent")
    tries, error = send_with_retries(channel, _note(doc, now), retry)
    age = now - row.created_at
    with store.session() as s:
        record = s.get_one(ActionDelivery, row.id)
        record.attempts += tries
        record.rounds += 1
        record.last_attempt_at = now
        if error is None:
            record.status, record.delivered_at = "sent", now
            record.next_attempt_at, record.error = None, None
            s.add(event(request_id, now, "delivered", None, channel=channel.name))
            report.delivered += 1
            return 1
        if age >= outbox.give_up_after:
            hours = age.total_seconds() / 3600
            record.status, record.next_attempt_at = "failed", None
            record.error = f"given up after {record.rounds} rounds over {hours:.1f} h: {error}"
            s.add(event(request_id, now, "delivery_given_up", record.error, channel=channel.name))
            report.given_up += 1
            return 0
        record.error = error
        record.next_attempt_at = outbox.next_attempt(record.rounds, now)
        s.add(
            event(
                request_id,
                now,
                "delivery_failed",
                error,
                channel=channel.name,
                next_attempt_at=_stamp(record.next_attempt_at),
            )
        )
        report.failed += 1
    return 0


@contextmanager
def request_in(
    store: ExceptionStore, request_id: int, *statuses: str
) -> Iterator[tuple[Session, ActionRequest | None]]:
    """A transaction over a request, None when it is no longer in one of `statuses` (someone
    changed it meanwhile: a cancel, another run)."""
    with store.session() as s:
        request = s.get_one(ActionRequest, request_id)
        yield s, request if request.status in statuses else None


def _claim(store: ExceptionStore, delivery_id: int, now: datetime) -> bool:
    """Take a due delivery for this dispatch: another dispatcher (a pipeline run, an approval
    in the web app) that reads it meanwhile finds it not due for `CLAIM` and leaves it; a
    dispatcher that dies while sending leaves it due again after that."""
    with store.session() as s:
        claimed = s.execute(
            update(ActionDelivery)
            .where(
                ActionDelivery.id == delivery_id,
                ActionDelivery.status == "pending",
                or_(
                    ActionDelivery.next_attempt_at.is_(None), ActionDelivery.next_attempt_at <= now
                ),
            )
            .values(next_attempt_at=now + CLAIM)
        )
    return claimed.rowcount == 1


def _mark_sent(store: ExceptionStore, request_id: int, now: datetime, grace_days: int) -> int:
    """Mark a request whose every channel delivered as sent (unless it changed meanwhile)."""
    with request_in(store, request_id, "approved") as (_s, request):
        if request is None:
            return 0
        request.status, request.sent_at = "sent", now
        request.expected_by = expected_by(request, now.date(), grace_days)
    return 1


class ActionDeliveryRow(TypedDict):
    """An action delivery waiting for a retry or given up, for the data-health page."""

    id: int
    request_uid: str
    type: str
    channel: str
    status: str
    target: str
    attempts: int
    rounds: int
    created_at: datetime
    next_attempt_at: datetime | None
    error: str | None


def attention(
    store: ExceptionStore, limit: int = 20
) -> tuple[dict[str, int], list[ActionDeliveryRow]]:
    """How many action deliveries are waiting for a retry and given up, and the newest `limit`."""
    waiting = or_(
        ActionDelivery.status == "failed",
        (ActionDelivery.status == "pending") & (ActionDelivery.attempts > 0),
    )
    with store.session() as s:
        counts = dict(
            s.execute(
                select(ActionDelivery.status, func.count())
                .where(waiting)
                .group_by(ActionDelivery.status)
            ).all()
        )
        rows = s.execute(
            select(ActionDelivery, ActionRequest.request_uid, ActionRequest.type)
            .join(ActionRequest, ActionRequest.id == ActionDelivery.request_id)
            .where(waiting)
            .order_by(ActionDelivery.id.desc())
            .limit(limit)
        ).all()
        names = [n for n in ActionDeliveryRow.__annotations__ if n not in ("request_uid", "type")]
        listed = [
            ActionDeliveryRow(request_uid=uid, type=kind, **{n: getattr(d, n) for n in names})  # type: ignore[typeddict-item]
            for d, uid, kind in rows
        ]
    return {status: int(counts.get(status, 0)) for status in ATTENTION}, listed


def outbox_attention(
    store: ExceptionStore, limit: int = 20
) -> tuple[dict[str, int], list[DeliveryRow], dict[str, int], list[ActionDeliveryRow]]:
    """For the data-health page: the notification outbox's deliveries that need attention, then
    the action outbox's (counts and the newest `limit` of each)."""
    return (*notification_attention(store, limit), *attention(store, limit))
