"""The catalog's certification parts: each KPI's versions with their approver and diff, and the
"Certify version N" form a `kpi_owner` sees on a draft.

The form is only drawn for a user holding the permission, but its callback (on the catalog
page, `catalog.certify_version`) is a public endpoint: `sign_off` checks the signed-in user on
the server (`kpi.signoffs.certify` refuses anyone without `kpi_owner`) and signs off only the
version and content the form was drawn for.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dash import dcc, html, no_update

from control_tower.kpi.catalog import HistoryRecord, Kpi, SignOff
from control_tower.kpi.diff import VersionEntry, version_entries
from control_tower.kpi.signoffs import (
    PERMISSION,
    SignOffError,
    SignOffNotAllowedError,
    certify,
)
from control_tower.storage.serving import NoSnapshotError
from control_tower.views.kpi import histories
from control_tower.web import action_ui as act_ui
from control_tower.web import components as ui
from control_tower.web import kpi_ui
from control_tower.web.format import fmt_ts
from control_tower.web.runtime import web_context

# Pattern-matching ids, {"type": ..., "kpi": name}.
STATUS = "catalog-status-badge"
CERTIFIED_BY = "catalog-certified-by"
HISTORY = "catalog-history"
FORM = "catalog-certify-form"
CERTIFY = "catalog-certify"
NOTE = "catalog-certify-note"
SEEN = "catalog-certify-seen"
RESULT = "catalog-certify-result"


def may_certify(user: Any) -> bool:
    """Whether the user holds the permission to sign off KPI versions."""
    return PERMISSION in getattr(user, "permissions", frozenset())


def _version_status(entry: VersionEntry) -> str:
    if entry.signoff is not None:
        return "certified"
    return "deprecated" if entry.status == "deprecated" else "draft"


def _approver(signoff: SignOff | None) -> Any:
    if signoff is None:
        return "—"
    return html.Span(
        f"{signoff.signed_by}, {fmt_ts(signoff.signed_at)}",
        title=signoff.note or signoff.source,
        className="catalog-approver",
    )


def history_section(kpi: Kpi, records: list[HistoryRecord], signoffs: Iterable[SignOff]) -> Any:
    """The versions of `kpi`, newest first (approver, first seen, content), then the diff of
    each version from the one before it, folded."""
    entries = version_entries(kpi, records, signoffs)
    rows = [
        [
            f"v{e.version}",
            kpi_ui.governance_badge(_version_status(e)),
            _approver(e.signoff),
            fmt_ts(e.first_seen_at) if e.first_seen_at else "not recorded yet",
            html.Span(e.content_hash[:12], className="mono", title=e.content_hash),
            "current" if e.current else "",
        ]
        for e in reversed(entries)
    ]
    table = ui.simple_table(
        ["Version", "Status", "Signed off by", "First seen", "Content", ""],
        rows,
        class_name="table--compact catalog-versions",
    )
    diffs = [
        html.Details(
            [
                html.Summary(f"Changes from v{e.previous_version} to v{e.version}"),
                html.Pre(html.Code(e.diff), className="catalog-sql catalog-diff"),
            ],
            className="catalog-diff-details",
        )
        for e in reversed(entries)
        if e.diff
    ]
    note = []
    if not records:
        note = [html.P("Versions are recorded at the next KPI refresh.", className="muted")]
    return html.Div([table, *diffs, *note])


def certify_form(kpi: Kpi) -> html.Div:
    """The sign-off form of a draft: a note and "Certify version N" (for a kpi_owner only)."""
    key = {"kpi": kpi.name}
    return html.Div(
        [
            html.Div(  # the bar's display would override `hidden`: it sits inside
                html.Div(
                    [
                        act_ui.field(
                            "Sign-off note",
                            dcc.Input(
                                id={"type": NOTE, **key},
                                type="text",
                                placeholder="What you checked (optional)",
                                maxLength=2000,
                                className="catalog-certify-note",
                            ),
                            "",
                        ),
                        html.Button(
                            f"Certify version {kpi.version}",
                            id={"type": CERTIFY, **key},
                            n_clicks=0,
                            className="button",
                        ),
                        dcc.Store(id={"type": SEEN, **key}, data=[kpi.version, kpi.content_hash]),
                    ],
                    className="filter-bar catalog-certify",
                ),
                id={"type": FORM, **key},
            ),
            html.Div(id={"type": RESULT, **key}, role="status"),
        ]
    )


def sign_off(user: Any, name: str, note: Any, seen: Any) -> tuple[Any, ...]:
    """Sign off KPI `name` at the version the form was drawn for (`seen`), as `user`: the
    message, whether the form hides, and the card's status, approver and versions drawn again
    (unchanged on a refusal)."""
    context = web_context()
    try:
        version, digest = seen
        expected = (int(version), str(digest))
    except (TypeError, ValueError):
        expected = None
    try:
        if expected is None:
            raise SignOffError("the form does not say which version it signs off: reload")
        certify(
            context.exceptions,
            context.catalog(),
            name,
            user,
            note=note if isinstance(note, str) else None,
            seen=expected,
        )
    except (SignOffNotAllowedError, SignOffError) as exc:
        return act_ui.message(f"Not certified: {exc}", "bad"), *(no_update,) * 4
    catalog = context.catalog()
    kpi = catalog.kpis[name]
    try:
        with context.snapshot() as cur:
            records = histories(cur).get(name, [])
    except NoSnapshotError:  # nothing published yet: no recorded version
        records = []
    return (
        act_ui.message(f"Certified: {kpi_ui.certified_text(kpi)}.", "ok"),
        True,
        kpi_ui.governance_badge(kpi.status),
        kpi_ui.certified_text(kpi),
        history_section(kpi, records, catalog.signoffs),
    )
