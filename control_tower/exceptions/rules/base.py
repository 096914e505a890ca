"""The declaration of an exception type: what it detects, who owns it, how soon it is due.

A type names a condition that a person should act on, how to find every
instance of it in the landed warehouse tables (a DuckDB query), who owns it,
and how soon it must be handled. (The KPIs a type explains name it in their
definitions: `exception_types:` in kpi_definitions/*.yml.)

Every rule is one vectorised query over the landed tables (schema `main`,
quantities in base units, timestamps UTC). It may use the bound parameters
`$as_of` (DATE: the evaluation day), `$now` (TIMESTAMP, UTC: the evaluation
instant) and the type's own `params`, and returns one row per currently-true
condition with exactly these columns:

    key            stable business key of the condition (unique within the type)
    location_id    location the condition belongs to, or NULL
    entity_id      legal entity, or NULL
    item_id        item, or NULL
    detail         JSON object with the facts a person needs (refs, quantities, dates)
    value_at_risk  money at stake (DOUBLE, in the reporting currency), or NULL
    severity       low, medium or high; NULL for the type's default

A value computed from the item master's unit cost or unit price (the group's standard cost and
list price) is already in the reporting currency. A value computed from amounts in an entity's
functional currency (order-line prices, PO and invoice costs, freight costs) is converted at
the rate of the data's day, the day before `$as_of` (`in_reporting_currency`, or the same joins
written in the rule): NULL when the entity's currency is unknown or has no rate that day, never
the unconverted amount.

and optionally these:

    event_at       when the condition began in the source (TIMESTAMP, UTC): a backorder's
                   promised date, a late shipment's due time. The item's age and SLA count
                   from it; without it (or NULL), from the first detection.
    in_window      whether the condition is inside the type's look-back window (BOOLEAN,
                   true when absent). A look-back window bounds which conditions open an
                   item, never which stay open: a rule returns every condition still true,
                   and one outside the window only keeps an existing item open. An item is
                   cleared when its condition is observed resolved (the rule no longer
                   returns it), not because it aged out of a window.

A type whose conditions are one-off events that nothing in the data resolves
(an unusual adjustment) says `clears=False`: detection never clears its items,
a person resolves them.

Later models (the stockout risk model) may refine a rule; the
queue keys stay the same so the items and their history carry over.

What a rule reads drives the incremental refresh (`control_tower.exceptions.scope`):

    reads       every table the rule reads: landed tables by name, derived ones as
                schema.table (ops.batches, risk.stockout_scores)
    keys_from   keyed rules: for each landed table read, the SQL of the keys its rows touched
                by a run reach (those rows are the CTE `touched`). The rule then restricts
                its driving tables with `exc_in_scope(<key expression>)`, which is true on
                a full refresh and selects the run's keys on a delta. A derived table a
                keyed rule reads (the `money` step's rates) has no keys: when it changes,
                the rule runs whole.
    clock       its conditions, severity or detail move with the instant `$now` (a wave
                turns late at its planned time), not only with the data
    due         a keyed clock rule: the SQL of the keys whose condition, severity or start
                change between the instants `$since` (its last detection) and `$now`
                without a change in the data (a wave whose planned release passed)

On a delta a keyed rule runs for the keys reached from the rows of the run's
batches (and, with `due`, the keys that came due since its last detection),
and not at all when there are none. Any other rule runs whole, only when one
of its landed tables got a batch, a derived table it reads changed, or
(clock) the instant moved; its items are reconciled only where its result
differs from the last detection. A rule declaring no `reads` runs whole on
every delta. Elapsed times in a keyed rule's detail (hours late) are those of
the item's last change; the first run of each day, a full one, brings them
up to date, as it does the days past promise of the rules of `$as_of`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from control_tower.roles import ROLES

# Who can own a queue: any role a user can have.
OWNER_ROLES: tuple[str, ...] = ROLES
SEVERITIES: tuple[str, ...] = ("low", "medium", "high")
RULE_COLUMNS: tuple[str, ...] = (
    "key",
    "location_id",
    "entity_id",
    "item_id",
    "detail",
    "value_at_risk",
    "severity",
)
OPTIONAL_RULE_COLUMNS: tuple[str, ...] = ("event_at", "in_window")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_TABLE = re.compile(r"^([a-z][a-z0-9_]*\.)?[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class ExceptionType:
    """One exception queue: what it detects, who owns it, how fast it must be handled."""

    name: str
    label: str
    description: str
    rule: str
    severity: str
    owner_role: str
    sla_hours: float
    suggested_action: str
    params: Mapping[str, object] = field(default_factory=dict)
    clears: bool = True  # False: one-off events, resolved by a person only
    reads: tuple[str, ...] = ()
    keys_from: Mapping[str, str] = field(default_factory=dict)
    clock: bool = False
    due: str = ""

    def __post_init__(self) -> None:
        where = f"exception type {self.name!r}"
        if not _NAME.match(self.name):
            raise ValueError(f"{where}: the name must be snake_case")
        if self.severity not in SEVERITIES:
            raise ValueError(f"{where}: severity {self.severity!r} is not one of {SEVERITIES}")
        if self.owner_role not in OWNER_ROLES:
            raise ValueError(f"{where}: owner role {self.owner_role!r} is not one of {OWNER_ROLES}")
        if self.sla_hours <= 0:
            raise ValueError(f"{where}: sla_hours must be positive")
        for param in self.params:
            if not _NAME.match(param) or param in ("as_of", "now", "since"):
                raise ValueError(f"{where}: parameter {param!r} is not a usable name")
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))
        self._check_reads(where)
        object.__setattr__(self, "keys_from", MappingProxyType(dict(self.keys_from)))

    def _check_reads(self, where: str) -> None:
        for table in self.reads:
            if not _TABLE.match(table):
                raise ValueError(f"{where}: {table!r} in reads is not a table name")
        if not self.keys_from:
            if self.due:
                raise ValueError(f"{where}: only a keyed rule names the keys that come due")
            return
        landed = {t for t in self.reads if "." not in t}
        if landed != set(self.keys_from):
            raise ValueError(
                f"{where}: a keyed rule maps each to its keys, every landed table it reads "
                f"(reads {sorted(self.reads)}, keys_from {sorted(self.keys_from)})"
            )
        if self.clock != bool(self.due):
            raise ValueError(
                f"{where}: a keyed rule that moves with the clock names the keys that come "
                "due (due), and only such a rule does"
            )

    @property
    def keyed(self) -> bool:
        """Whether a delta runs the rule only for the keys its touched rows reach."""
        return bool(self.keys_from)

    def bindings(self, *, as_of: object, now: object) -> dict[str, object]:
        """The named parameters the rule uses (DuckDB refuses unused ones)."""
        return self.parameters(self.rule, as_of=as_of, now=now)

    def parameters(self, sql: str, **values: object) -> dict[str, object]:
        """The named parameters `sql` (the rule, or its `due`) uses, from `values` and `params`."""
        values = {**values, **self.params}
        used = set(re.findall(r"\$([a-z_][a-z0-9_]*)", sql))
        missing = used - values.keys()
        if missing:
            raise ValueError(f"exception type {self.name!r}: rule uses unknown {sorted(missing)}")
        return {k: v for k, v in values.items() if k in used}


def came_due(*instants: str) -> str:
    """SQL true when one of `instants` (timestamp expressions) lies between `$since` and `$now`,
    both included: a condition `instant < $now` turns true in between."""
    return " OR ".join(
        f"({i} BETWEEN CAST($since AS TIMESTAMP) AND CAST($now AS TIMESTAMP))" for i in instants
    )


# The rate of the data's day (the day before the evaluation day) from an entity's functional
# currency to the reporting currency, joined to rows whose entity is `{entity}` (the tables of
# the `money` post-load step, which runs before the rules; docs/currency.md). Every row is kept:
# before the first money step (no settings row) the converted values are NULL, not the rows lost.
REPORTING_RATE_JOINS = """
    LEFT JOIN (SELECT reporting_currency FROM money.settings) AS rc ON true
    LEFT JOIN money.entity_currencies AS ec ON ec.entity_id = {entity}
    LEFT JOIN money.fx_daily AS fx
        ON fx.from_currency = ec.currency AND fx.to_currency = rc.reporting_currency
       AND fx.rate_date = CAST($as_of AS DATE) - 1
"""


def reporting_amount(amount: str) -> str:
    """SQL of `amount` (in the currency `ec.currency` of REPORTING_RATE_JOINS) in the reporting
    currency: itself in the reporting currency, else times the rate; NULL when no rate."""
    return (
        f"CASE WHEN ec.currency = rc.reporting_currency THEN {amount} ELSE {amount} * fx.rate END"
    )


# What a rule converted with `in_reporting_currency` reads besides its own tables.
REPORTING_RATE_READS: tuple[str, ...] = (
    "money.settings",
    "money.entity_currencies",
    "money.fx_daily",
)


def in_reporting_currency(rule: str) -> str:
    """A rule whose value_at_risk is in its row's entity currency, with the value converted to
    the reporting currency at the rate of the data's day (the other columns as they are). Its
    type adds REPORTING_RATE_READS to its reads."""
    return f"""
    SELECT r.* REPLACE ({reporting_amount("r.value_at_risk")} AS value_at_risk)
    FROM ({rule}) AS r
    {REPORTING_RATE_JOINS.format(entity="r.entity_id")}
    """
