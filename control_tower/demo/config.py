"""Scales and the fixed shape of the simulated distributor: sites, regions, carriers, close tasks."""

from __future__ import annotations

from dataclasses import dataclass

# Random streams: every generator is seeded by (seed, stream, key...), e.g. the day.
S_MASTER, S_ORDERS, S_OPS, S_OUT, S_IN, S_WH, S_FIN, S_SVC, S_FX = range(9)


@dataclass(frozen=True)
class Scale:
    """Size of a generated data set."""

    name: str
    days: int  # days of history before as_of
    items: int
    customers: int
    suppliers: int
    order_lines: int  # expected order lines over the history (approximate)
    description: str = ""


SCALES: dict[str, Scale] = {
    "small": Scale(
        "small", 120, 300, 250, 30, 30_000, "~120 days, 300 items, ~30k order lines (tests, demos)"
    ),
    "medium": Scale(
        "medium", 365, 2_500, 2_000, 120, 1_000_000, "one year, 2,500 items, ~1M order lines"
    ),
    "large": Scale(
        "large", 730, 10_000, 8_000, 300, 10_000_000, "two years, 10k items, ~10M order lines"
    ),
}


@dataclass(frozen=True)
class Site:
    """A warehouse (location)."""

    location_id: str
    code: str
    name: str
    entity_id: str
    region: str
    timezone: str
    wave_based: bool
    share: float  # share of the order volume
    capacity: float  # daily pick capacity relative to the average daily shipping load
    waves: int  # waves per day (0: ships order by order against carrier cutoffs)
    order_cutoff_h: float  # orders before this local hour can ship the same day
    city: str


SITES: tuple[Site, ...] = (
    Site(
        "DC-CHI", "CHI", "Chicago Distribution Center", "US01", "US-Central",
        "America/Chicago", True, 0.34, 1.30, 5, 13.0, "Chicago, IL",
    ),
    # DC-NJ is the congested site: capacity barely above the average load, so the
    # Monday/Tuesday peaks spill over into backlog, late waves and late shipments.
    Site(
        "DC-NJ", "NJ", "Edison Distribution Center", "US01", "US-East",
        "America/New_York", True, 0.30, 1.00, 6, 13.0, "Edison, NJ",
    ),
    Site(
        "DC-RNO", "RNO", "Reno Fulfillment Center", "US01", "US-West",
        "America/Los_Angeles", False, 0.16, 1.30, 0, 15.0, "Reno, NV",
    ),
    Site(
        "DC-RTM", "RTM", "Rotterdam European Distribution Center", "NL01", "EU-West",
        "Europe/Amsterdam", True, 0.20, 1.30, 4, 13.0, "Rotterdam, NL",
    ),
)  # fmt: skip

ENTITIES: tuple[str, ...] = ("US01", "NL01")
ENTITY_SITE: tuple[int, ...] = (0, 3)  # time zone of each entity's head office (site index)
ENTITY_NAMES: tuple[str, ...] = (
    "Lakeshore Industrial Supply, Inc.",
    "Lakeshore Industrial Supply B.V.",
)
# functional currency of each entity; the item master's cost and list price are in the first
# (the reporting currency), amounts on the other entity's rows are converted at the day's rate
ENTITY_CURRENCY: tuple[str, ...] = ("USD", "EUR")


@dataclass(frozen=True)
class Region:
    """A customer region, served from one site with a standard transit time."""

    name: str
    site: int
    transit: int  # standard ground transit in shipping days
    share: float  # share of the site's customers
    city: str


REGIONS: tuple[Region, ...] = (
    Region("US-Central", 0, 1, 0.65, "Milwaukee, WI"),
    Region("US-South", 0, 2, 0.35, "Dallas, TX"),
    Region("US-East", 1, 1, 0.60, "Philadelphia, PA"),
    Region("US-Southeast", 1, 2, 0.40, "Atlanta, GA"),
    Region("US-West", 2, 1, 0.65, "Sacramento, CA"),
    Region("US-Mountain", 2, 2, 0.35, "Denver, CO"),
    Region("EU-Benelux", 3, 1, 0.45, "Utrecht, NL"),
    Region("EU-DACH", 3, 2, 0.25, "Düsseldorf, DE"),
    Region("EU-France", 3, 2, 0.18, "Lille, FR"),
    Region("EU-Nordics", 3, 3, 0.12, "Malmö, SE"),
)

MODES: tuple[str, ...] = ("parcel", "LTL", "FTL")


@dataclass(frozen=True)
class Carrier:
    """A carrier with its on-time behaviour (the poor ones are cheaper)."""

    carrier_id: str
    name: str
    eu: bool
    modes: tuple[int, ...]
    late_p: float  # probability that a delivery slips one or more days
    noshow_p: float  # probability that the planned pickup is missed
    cost_factor: float
    pref: float  # how often customers route to it (within its modes)
    hubs: tuple[str, ...]


CARRIERS: tuple[Carrier, ...] = (
    Carrier("CR-PCLX", "ParcelExpress", False, (0,), 0.04, 0.01, 1.00, 0.6,
            ("Louisville, KY", "Indianapolis, IN")),
    Carrier("CR-SWPK", "SwiftPak", False, (0,), 0.20, 0.06, 0.86, 0.4,
            ("Memphis, TN", "Columbus, OH")),
    Carrier("CR-KSTN", "Keystone Freight", False, (1,), 0.05, 0.01, 1.00, 0.45,
            ("Harrisburg, PA", "Joliet, IL")),
    # the poor performer: late on about a third of its deliveries, often misses pickups
    Carrier("CR-MWML", "Midwest Motor Lines", False, (1,), 0.32, 0.08, 0.80, 0.35,
            ("Gary, IN", "St. Louis, MO")),
    Carrier("CR-SIER", "Sierra Freightways", False, (1,), 0.06, 0.02, 0.95, 0.20,
            ("Sparks, NV", "Salt Lake City, UT")),
    Carrier("CR-ISTL", "Interstate Truckload", False, (2,), 0.05, 0.02, 1.00, 1.0,
            ("Kansas City, MO",)),
    Carrier("CR-EUPL", "EuroLink Parcel", True, (0,), 0.05, 0.01, 1.00, 1.0,
            ("Venlo, NL", "Duisburg, DE")),
    Carrier("CR-RIJN", "Rijnland Transport", True, (1,), 0.16, 0.04, 0.88, 0.5,
            ("Moerdijk, NL", "Antwerp, BE")),
    Carrier("CR-CONT", "Continental Cargo", True, (1, 2), 0.05, 0.01, 1.00, 0.5,
            ("Duisburg, DE", "Liège, BE")),
)  # fmt: skip

CHANNELS: tuple[str, ...] = ("EDI", "web", "sales_rep", "phone")
SEGMENTS: tuple[str, ...] = (
    "industrial",
    "contractor",
    "institutional",
    "reseller",
    "government",
    "OEM",
)
SEGMENT_SHARE: tuple[float, ...] = (0.28, 0.26, 0.14, 0.14, 0.08, 0.10)
# main channel mix per segment (EDI, web, sales_rep, phone)
SEGMENT_CHANNELS: tuple[tuple[float, ...], ...] = (
    (0.35, 0.30, 0.25, 0.10),
    (0.05, 0.45, 0.20, 0.30),
    (0.30, 0.40, 0.25, 0.05),
    (0.70, 0.15, 0.10, 0.05),
    (0.30, 0.40, 0.30, 0.00),
    (0.65, 0.10, 0.20, 0.05),
)
SEGMENT_CASE_PREF: tuple[float, ...] = (0.25, 0.10, 0.20, 0.70, 0.20, 0.60)

# Order intake by weekday (Monday first): Monday/Tuesday peaks, quiet weekends.
WEEKDAY_FACTOR: tuple[float, ...] = (1.45, 1.30, 1.10, 1.05, 0.95, 0.25, 0.12)
# Pick capacity by weekday (warehouses and carriers work Monday to Friday).
SHIP_DAY_CAPACITY: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0)

SALES_STATUS: tuple[str, ...] = (
    "open",
    "released",
    "backordered",
    "shipped",
    "closed",
    "cancelled",
)
PO_STATUS: tuple[str, ...] = ("open", "received", "closed", "cancelled")
MATCH_STATUS: tuple[str, ...] = (
    "matched",
    "price_variance",
    "qty_variance",
    "no_receipt",
    "pending",
)
WAVE_STATUS: tuple[str, ...] = ("planned", "released", "completed", "cancelled")
FREIGHT_STATUS: tuple[str, ...] = ("tendered", "in_transit", "delivered", "exception", "cancelled")
SERVICE_LEVELS: tuple[str, ...] = ("standard", "economy", "expedited")
EVENT_TYPES: tuple[str, ...] = (
    "tendered",
    "picked_up",
    "in_transit",
    "delay",
    "exception",
    "delivered",
)
DELAY_REASONS: tuple[str, ...] = (
    "weather",
    "linehaul capacity",
    "equipment failure",
    "missed connection",
    "hub congestion",
    "missed pickup",
    "damaged in transit",
    "consignee closed",
)
RETURN_REASONS: tuple[str, ...] = ("damaged", "wrong_item", "late", "customer_change", "other")
ADJUST_REASONS: tuple[str, ...] = ("cycle_count", "damage", "found", "shrink", "correction")
ODD_USERS: tuple[str, ...] = ("admin", "sysadmin", "test_user", "svc_integration", "temp_ops99")

# Close checklist: (task_id, name, category, owner role, due in business days after period end;
# negative = before period end, entities it applies to).
CLOSE_TASKS: tuple[tuple[str, str, str, int, int, tuple[int, ...]], ...] = (
    ("PRE-01", "Sales cutoff review", "revenue", 0, -2, (0, 1)),
    ("PRE-02", "Pre-close inventory reconciliation", "inventory", 1, -1, (0, 1)),
    ("CSH-01", "Bank reconciliation - operating account", "cash", 2, 2, (0, 1)),
    ("CSH-02", "Bank reconciliation - payroll account", "cash", 2, 3, (0,)),
    ("AP-01", "AP accrual (received not invoiced)", "payables", 3, 3, (0, 1)),
    ("AP-02", "Freight accrual", "payables", 3, 3, (0, 1)),
    ("INV-01", "Inventory valuation and reserve review", "inventory", 1, 4, (0, 1)),
    ("REV-01", "Revenue cutoff and deferred revenue", "revenue", 0, 3, (0, 1)),
    ("IC-01", "Intercompany reconciliation US01-NL01", "intercompany", 4, 4, (0, 1)),
    ("FA-01", "Fixed asset depreciation run", "fixed_assets", 4, 2, (0, 1)),
    ("PAY-01", "Payroll accrual", "payroll", 2, 2, (0, 1)),
    ("ACC-01", "Prepaid expense amortisation", "accruals", 3, 3, (0,)),
    ("TRS-01", "FX revaluation", "treasury", 2, 4, (0, 1)),
    ("TAX-01", "VAT return preparation", "tax", 4, 5, (1,)),
    ("REP-01", "Management reporting package", "reporting", 4, 5, (0, 1)),
    ("REP-02", "Controller review and sign-off", "reporting", 5, 6, (0, 1)),
)
# owners by role (index above) for each entity
CLOSE_OWNERS: tuple[tuple[str, ...], ...] = (
    ("m.garcia", "j.chen", "s.patel", "r.thompson", "k.okafor", "l.bennett"),
    ("a.jansen", "p.devries", "e.bakker", "t.visser", "m.smit", "h.mulder"),
)
