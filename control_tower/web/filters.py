"""Page filters that live in the URL: dates, grain, entity and location.

A page that filters puts `filter_bar(prefix, view, choices)` in its layout
and calls `register_filter_callbacks(prefix)` once at import. The bar's
controls are the inputs of the page's data callbacks (`filter_inputs(prefix)`
then `Filters.from_inputs(*values)`), and a callback mirrors them into the
address bar (`?from=2025-03-01&to=2025-03-31&grain=week&location=DC-NJ`) so a
shared link opens the same view: Dash hands the query string to the page's
layout function, which reads it back with `Filters.from_query(**query)`.

Entity and location choices are limited to the signed-in user's scope, and
whatever a request asks for is intersected with that scope again on the
server (`Filters.where`): the URL can narrow a view, never widen it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

import duckdb
from dash import Input, Output, callback, dcc, html

from control_tower.accounts import Scope
from control_tower.kpi.serving import kept, latest_as_of
from control_tower.settings import utc_now
from control_tower.views.data_time import range_end

GRAINS: tuple[str, ...] = ("day", "week", "month")
GRAIN_LABELS = {"day": "Day", "week": "Week", "month": "Month"}
DEFAULT_DAYS = {"day": 42, "week": 7 * 13, "month": 365}  # a readable trend per grain
MAX_DAYS = 3 * 366  # longest range a request may ask for


def _date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if not value or not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _id(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if value and len(value) <= 64 else None


@dataclass(frozen=True)
class Filters:
    """What a view is filtered to; None means "not chosen" (all, or the default range)."""

    start: date | None = None
    end: date | None = None
    grain: str = "day"
    entity: str | None = None
    location: str | None = None

    @classmethod
    def from_query(cls, **query: Any) -> Filters:
        """From a URL's query arguments; anything unreadable falls back to its default."""
        grain = query.get("grain")
        return cls(
            start=_date(query.get("from")),
            end=_date(query.get("to")),
            grain=grain if grain in GRAINS else "day",
            entity=_id(query.get("entity")),
            location=_id(query.get("location")),
        )

    @classmethod
    def from_inputs(cls, start: Any, end: Any, grain: Any, entity: Any, location: Any) -> Filters:
        """From the filter bar's values, in the order of `filter_inputs`."""
        return cls.from_query(
            **{"from": start, "to": end, "grain": grain, "entity": entity, "location": location}
        )

    def resolved(self, latest: date) -> Filters:
        """With the date range filled in: ends at `latest` (the data's newest day) by default,
        starts a grain-dependent span before the end, never longer than MAX_DAYS."""
        end = self.end or latest
        start = self.start or end - timedelta(days=DEFAULT_DAYS[self.grain] - 1)
        if start > end:
            start, end = end, start
        if (end - start).days > MAX_DAYS:
            start = end - timedelta(days=MAX_DAYS)
        return replace(self, start=start, end=end)

    def query_string(self) -> str:
        """The URL query for these filters (`?...`, empty when nothing is chosen)."""
        pairs = [
            ("from", self.start.isoformat() if self.start else None),
            ("to", self.end.isoformat() if self.end else None),
            ("grain", self.grain if self.grain != "day" else None),
            ("entity", self.entity),
            ("location", self.location),
        ]
        kept = [(k, v) for k, v in pairs if v]
        return "?" + urlencode(kept) if kept else ""

    def scoped(self, scope: Scope) -> Scope | None:
        """The user's scope narrowed to the chosen entity and location; None if nothing is left."""
        entities = set(scope.entities)
        locations = set(scope.locations)
        if self.entity:
            if entities and self.entity not in entities:
                return None
            entities = {self.entity}
        if self.location:
            if locations and self.location not in locations:
                return None
            locations = {self.location}
        return Scope.of(entities, locations)


# --- the bar ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choices:
    """The entities (value, label) and locations (value, label, entity) a user may pick."""

    entities: tuple[tuple[str, str], ...]
    locations: tuple[tuple[str, str, str], ...]
    latest: date | None  # the data's as-of day, the default end of a range


def load_choices(cur: duckdb.DuckDBPyConnection, scope: Scope) -> Choices:
    """Entities and locations in the user's scope, from the landed locations table (read once
    per snapshot and scope by a reader that keeps answers)."""
    condition, params = scope.sql("entity_id", "location_id")

    def read() -> list[tuple[Any, ...]]:
        try:
            return cur.execute(
                f"SELECT location_id, name, entity_id FROM locations WHERE {condition} "
                "ORDER BY entity_id, location_id",
                params,
            ).fetchall()
        except duckdb.CatalogException:
            return []

    rows = kept(("web.locations", scope), read)
    entities = sorted({r[2] for r in rows if r[2]})
    locations = tuple((r[0], f"{r[0]} · {r[1]}" if r[1] else r[0], r[2]) for r in rows)
    return Choices(tuple((e, e) for e in entities), locations, _latest_day(cur))


def _latest_day(cur: duckdb.DuckDBPyConnection) -> date | None:
    latest = latest_as_of(cur)
    return data_end(cur, latest) if latest else None


def opening_view(cur: duckdb.DuckDBPyConnection) -> Filters | None:
    """The filters a page's bar opens with when its address chooses none: the default range
    ending at the data's as-of day (None before any KPI value)."""
    latest = _latest_day(cur)
    return Filters().resolved(latest) if latest else None


def data_end(cur: duckdb.DuckDBPyConnection, latest: date) -> date:
    """The default end of a range: the data's as-of day (its newest extract, by the product
    clock), not after `latest` (the day the KPI values were computed as of)."""
    return range_end(cur, latest, utc_now())


def ids(prefix: str) -> dict[str, str]:
    """Component ids of a page's filter bar."""
    return {
        "start": f"{prefix}-filter-from",
        "end": f"{prefix}-filter-to",
        "grain": f"{prefix}-filter-grain",
        "entity": f"{prefix}-filter-entity",
        "location": f"{prefix}-filter-location",
        "url": f"{prefix}-filter-url",
    }


def filter_inputs(prefix: str, prop: type = Input) -> list[Any]:
    """The bar's values as callback dependencies, in `Filters.from_inputs` order."""
    i = ids(prefix)
    return [
        prop(i["start"], "value"),
        prop(i["end"], "value"),
        prop(i["grain"], "value"),
        prop(i["entity"], "value"),
        prop(i["location"], "value"),
    ]


def filter_bar(
    prefix: str,
    view: Filters,
    choices: Choices,
    *,
    grains: Sequence[str] = GRAINS,
    show: Sequence[str] = ("dates", "grain", "entity", "location"),
) -> html.Div:
    """Date range, grain, entity and location controls, set from `view` (the URL)."""
    i = ids(prefix)
    latest = choices.latest
    shown = view.resolved(latest) if latest else view
    parts: list[Any] = [dcc.Location(id=i["url"], refresh=False)]

    def field(label: str, control: Any, for_id: str, hidden: bool) -> html.Div:
        return html.Div(
            [html.Label(label, htmlFor=for_id), control],
            className="filter-field",
            hidden=hidden,
        )

    dates_hidden = "dates" not in show
    for label, key, day in (("From", "start", shown.start), ("To", "end", shown.end)):
        parts.append(
            field(
                label,
                dcc.Input(
                    id=i[key],
                    type="date",
                    value=day.isoformat() if day else None,
                    debounce=True,
                    max=latest.isoformat() if latest else None,
                ),
                i[key],
                dates_hidden,
            )
        )
    parts.append(
        field(
            "Grain",
            dcc.RadioItems(
                id=i["grain"],
                options=[{"label": GRAIN_LABELS[g], "value": g} for g in grains],
                value=view.grain if view.grain in grains else grains[0],
                className="segmented",
                inline=True,
            ),
            i["grain"],
            "grain" not in show,
        )
    )
    parts.append(
        field(
            "Entity",
            dcc.Dropdown(
                id=i["entity"],
                options=[{"label": label, "value": value} for value, label in choices.entities],
                value=view.entity if view.entity in dict(choices.entities) else None,
                placeholder="All entities",
                clearable=True,
            ),
            i["entity"],
            "entity" not in show or len(choices.entities) < 2,
        )
    )
    locations = [
        {"label": label, "value": value}
        for value, label, entity in choices.locations
        if not view.entity or entity == view.entity
    ]
    known_locations = {value for value, _label, _entity in choices.locations}
    parts.append(
        field(
            "Location",
            dcc.Dropdown(
                id=i["location"],
                options=locations,
                value=view.location if view.location in known_locations else None,
                placeholder="All locations",
                clearable=True,
            ),
            i["location"],
            "location" not in show or len(choices.locations) < 2,
        )
    )
    return html.Div(parts, className="filter-bar", id=f"{prefix}-filters", role="search")


def register_filter_callbacks(prefix: str, extra: Mapping[str, str] | None = None) -> None:
    """Mirror the bar's values into the address bar's query string (no page reload).

    `extra` maps more query arguments to the ids of the page's own controls
    (their `value`), e.g. `{"q": "planner-search"}`; the layout reads them back.
    """
    i = ids(prefix)
    names = list(extra or {})
    inputs = [Input(cid, "value") for cid in (extra or {}).values()]

    @callback(
        Output(i["url"], "search"), *filter_inputs(prefix), *inputs, prevent_initial_call=True
    )
    def _to_url(start: Any, end: Any, grain: Any, entity: Any, location: Any, *more: Any) -> str:
        view = Filters.from_inputs(start, end, grain, entity, location)
        pairs = {
            name: str(value)[:100]
            for name, value in zip(names, more, strict=True)
            if value not in (None, "")
        }
        return link("", view, **pairs)


def link(path: str, view: Filters, **extra: str | None) -> str:
    """A page path with the view's filters (plus `extra` query arguments) in its query."""
    query = view.query_string().lstrip("?")
    more = urlencode([(k, v) for k, v in extra.items() if v])
    joined = "&".join(part for part in (query, more) if part)
    return f"{path}?{joined}" if joined else path


def as_where(scope: Scope, dimensions: Mapping[str, str] | None = None) -> dict[str, list[str]]:
    """A KPI `where` mapping restricting to a scope (entity_id / location_id lists)."""
    names = dimensions or {"entity": "entity_id", "location": "location_id"}
    where: dict[str, list[str]] = {}
    if scope.entities:
        where[names["entity"]] = sorted(scope.entities)
    if scope.locations:
        where[names["location"]] = sorted(scope.locations)
    return where
