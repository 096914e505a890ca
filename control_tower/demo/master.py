"""Master data: items, suppliers, customers, locations, assortment and replenishment policy."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from control_tower.demo.clock import (
    HOUR,
    Clock,
    dow,
    id_column,
    labels,
    money_column,
    ts_column,
)
from control_tower.demo.config import (
    CARRIERS,
    CHANNELS,
    REGIONS,
    SEGMENT_CASE_PREF,
    SEGMENT_CHANNELS,
    SEGMENT_SHARE,
    SEGMENTS,
    SITES,
    WEEKDAY_FACTOR,
    Scale,
)
from control_tower.demo.vec import uniform_int

# category: (name, nouns, median unit cost in dollars, case packs, kg per unit)
CATEGORIES: tuple[tuple[str, tuple[str, ...], float, tuple[int, ...], float], ...] = (
    ("Fasteners", ("Hex Bolt", "Lag Screw", "Wing Nut", "Flat Washer", "Wedge Anchor", "Threaded Rod"), 0.6, (12, 24, 36, 48), 0.05),
    ("Electrical", ("Wire Connector", "Circuit Breaker", "Junction Box", "Cable Tie", "Conduit Fitting", "Extension Cord"), 8.0, (1, 6, 10, 12), 0.4),
    ("Plumbing", ("Ball Valve", "Pipe Fitting", "PVC Coupling", "Faucet Cartridge", "Drain Trap"), 10.0, (1, 4, 6, 12), 0.6),
    ("HVAC", ("Air Filter", "Thermostat", "Foil Duct Tape", "Blower Motor", "Condensate Pump"), 25.0, (1, 2, 4, 12), 1.5),
    ("Safety", ("Nitrile Gloves", "Safety Glasses", "Hard Hat", "Ear Plugs", "Hi-Vis Vest", "Respirator"), 6.0, (6, 10, 12, 24), 0.2),
    ("Janitorial", ("Trash Liner", "Paper Towel", "Floor Cleaner", "Hand Soap", "Mop Head"), 9.0, (4, 6, 12), 2.0),
    ("Packaging", ("Stretch Film", "Corrugated Box", "Packing Tape", "Bubble Wrap", "Pallet Strap"), 5.0, (6, 12, 24, 36), 1.0),
    ("Power Tools", ("Cordless Drill", "Angle Grinder", "Impact Driver", "Circular Saw", "Battery Pack"), 95.0, (1, 2), 2.5),
    ("Hand Tools", ("Screwdriver Set", "Adjustable Wrench", "Utility Knife", "Tape Measure", "Pliers"), 14.0, (1, 4, 6, 12), 0.5),
    ("Lighting", ("LED Tube", "High Bay Fixture", "LED Bulb", "Emergency Light", "Lamp Ballast"), 18.0, (1, 4, 6, 12, 24), 0.8),
    ("Adhesives", ("Construction Adhesive", "Silicone Sealant", "Epoxy", "Threadlocker", "Spray Adhesive"), 7.0, (6, 12, 24), 0.4),
    ("Abrasives", ("Sanding Disc", "Cut-off Wheel", "Flap Disc", "Sanding Belt", "Wire Brush"), 3.0, (10, 20, 25, 48), 0.15),
)  # fmt: skip
ADJECTIVES = ("Heavy-Duty", "Stainless", "Galvanized", "Industrial", "Compact", "Premium", "Standard", "Economy")  # fmt: skip
VARIANTS = ("Small", "Medium", "Large", "XL", "1/4 in", "3/8 in", "1/2 in", "3/4 in", "1 in", "2 in", "10 pk", "25 pk", "120V", "240V", "Black", "White", "Gray")  # fmt: skip
NAME_A = ("Apex", "Summit", "Northstar", "Bluewater", "Keystone", "Redwood", "Ironbridge", "Lakeside", "Prairie", "Harbor", "Granite", "Silverline", "Cedar", "Liberty", "Pioneer", "Meridian", "Riverside", "Oakmont", "Sterling", "Frontier")  # fmt: skip
NAME_B = ("Industrial", "Mechanical", "Facilities", "Construction", "Supply", "Maintenance", "Electric", "Plumbing", "Manufacturing", "Services")  # fmt: skip
SUFFIX_US = ("Inc.", "LLC", "Co.", "Corp.", "Group")
SUFFIX_EU = ("B.V.", "GmbH", "N.V.", "SAS", "AB")

MEAN_LINES_PER_ORDER = 3.2
QTY_SIGMA = 0.7
LUMPY_P = 0.08  # chance that a line of a lumpy item is a bulk order
LUMPY_MULT = (6.0, 20.0)


@dataclass
class Master:
    """Master data as numpy arrays plus the formatted master tables."""

    n_items: int
    item_ids: pl.Series
    item_cat: np.ndarray
    abc: np.ndarray  # 0 A, 1 B, 2 C
    case_qty: np.ndarray
    cost_c: np.ndarray  # unit cost in cents per each
    price_c: np.ndarray  # list price in cents per each
    item_sup: np.ndarray
    lead: np.ndarray  # quoted lead time in days
    kg: np.ndarray
    mean_q: np.ndarray  # typical line quantity in eaches
    lumpy: np.ndarray  # bool: occasional bulk orders
    sup_ids: pl.Series
    sup_rel: np.ndarray  # 0 reliable, 1 fair, 2 unreliable
    sup_transit: np.ndarray  # days from supplier dispatch to arrival
    n_cust: int
    cust_ids: pl.Series
    cust_region: np.ndarray
    cust_site: np.ndarray
    cust_tier: np.ndarray  # 1..3
    cust_chan: np.ndarray
    cust_partial: np.ndarray  # bool: accepts partial shipments
    cust_cs: np.ndarray  # share of lines ordered in cases
    cust_disc: np.ndarray
    cust_carrier: np.ndarray  # (n_cust, 3) preferred carrier per mode
    n_il: int
    il_loc: np.ndarray
    il_item: np.ndarray
    il_bin: pl.Series
    loc_il: list[np.ndarray]  # item-locations of each site
    loc_cdf: list[np.ndarray]  # cumulative pick probability over loc_il
    loc_cust: list[np.ndarray]
    loc_cust_cdf: list[np.ndarray]
    base_orders: np.ndarray  # orders per day per site at factor 1
    il_lines: np.ndarray  # expected lines per day per item-location
    mu: np.ndarray  # expected units per day per item-location
    s: np.ndarray  # reorder point
    big_s: np.ndarray  # order-up-to level
    z: np.ndarray  # safety factor per item-location (low: under-buffered)
    frames: dict[str, pl.DataFrame] = field(default_factory=dict)

    def demand_factor(self, day: int, as_of_day: int) -> float:
        """Weekday x trend x season multiplier of order intake on `day`."""
        trend = 1.0 + 0.07 * (day - as_of_day) / 365.0
        season = 1.0 + 0.07 * np.sin(2 * np.pi * (day + 40) / 365.25)
        return float(WEEKDAY_FACTOR[int(dow(day))] * trend * season)


def _cdf(w: np.ndarray) -> np.ndarray:
    c = np.cumsum(w)
    return c / c[-1]


def build_master(
    rng: np.random.Generator, scale: Scale, clock: Clock, start_day: int, as_of_day: int
) -> Master:
    """Draw all master data for a scale."""
    n_sites = len(SITES)
    # --- suppliers -------------------------------------------------------------------
    n_sup = scale.suppliers
    sup_cat = np.arange(n_sup) % len(CATEGORIES)
    imported = rng.random(n_sup) < 0.35
    sup_lead = np.where(imported, uniform_int(rng, 28, 56), uniform_int(rng, 4, 14))
    sup_transit = np.where(imported, uniform_int(rng, 14, 24), uniform_int(rng, 1, 4))
    sup_rel = rng.choice(3, size=n_sup, p=[0.62, 0.24, 0.14])

    # --- items -----------------------------------------------------------------------
    n = scale.items
    cat = rng.integers(0, len(CATEGORIES), n)
    case_qty = np.empty(n, dtype=np.int64)
    cost = np.empty(n)
    kg = np.empty(n)
    for k, (_, _, cost_med, packs, kg_med) in enumerate(CATEGORIES):
        m = cat == k
        case_qty[m] = rng.choice(np.array(packs), size=m.sum())
        cost[m] = cost_med * rng.lognormal(0.0, 0.6, m.sum())
        kg[m] = kg_med * rng.lognormal(0.0, 0.5, m.sum())
    cost_c = np.maximum(5, np.round(cost * 100)).astype(np.int64)
    price_c = np.round(cost_c * (1 + rng.uniform(0.18, 0.55, n))).astype(np.int64)
    mean_q = case_qty**0.6 * rng.lognormal(np.log(3.0), 0.6, n)
    lumpy = rng.random(n) < 0.15
    item_w = rng.lognormal(0.0, 1.5, n)  # Pareto-like popularity
    volume = item_w * mean_q * np.where(lumpy, 1 + LUMPY_P * (sum(LUMPY_MULT) / 2 - 1), 1.0)
    rank = np.empty(n, dtype=np.int64)
    rank[np.argsort(-volume, kind="stable")] = np.arange(n)
    abc = np.where(rank < 0.2 * n, 0, np.where(rank < 0.5 * n, 1, 2))
    # each item buys from a supplier of its category
    item_sup = np.empty(n, dtype=np.int64)
    for k in range(len(CATEGORIES)):
        m = cat == k
        cands = np.flatnonzero(sup_cat == k)
        item_sup[m] = rng.choice(cands, size=m.sum())
    lead = sup_lead[item_sup] + rng.integers(0, 4, n)

    # --- assortment (item-locations) -------------------------------------------------
    p_stock = np.array([[0.95, 0.80, 0.55]] * 3 + [[0.70, 0.45, 0.25]])
    stocked = rng.random((n_sites, n)) < p_stock[:, abc]
    none_us = ~stocked[:3].any(axis=0)
    stocked[rng.integers(0, 3, n)[none_us], np.flatnonzero(none_us)] = True
    il_loc, il_item = np.nonzero(stocked)  # sorted by location, then item
    n_il = il_loc.size
    il_of = np.full((n_sites, n), -1, dtype=np.int64)
    il_of[il_loc, il_item] = np.arange(n_il)
    il_w = item_w[il_item] * rng.lognormal(0.0, 0.35, n_il)

    # --- customers -------------------------------------------------------------------
    nc = scale.customers
    site_share = np.array([s.share for s in SITES])
    cust_site = rng.choice(n_sites, size=nc, p=site_share)
    cust_region = np.empty(nc, dtype=np.int64)
    for si in range(n_sites):
        regs = [k for k, r in enumerate(REGIONS) if r.site == si]
        p = np.array([REGIONS[k].share for k in regs])
        m = cust_site == si
        cust_region[m] = np.array(regs)[rng.choice(len(regs), size=m.sum(), p=p / p.sum())]
    seg = rng.choice(len(SEGMENTS), size=nc, p=SEGMENT_SHARE)
    size = rng.lognormal(0.0, 1.1, nc) * np.where(np.isin(seg, (3, 5)), 1.8, 1.0)
    crank = np.empty(nc, dtype=np.int64)
    crank[np.argsort(-size, kind="stable")] = np.arange(nc)
    tier = np.where(crank < 0.15 * nc, 1, np.where(crank < 0.5 * nc, 2, 3))
    shuffle = rng.random(nc) < 0.1
    tier[shuffle] = rng.integers(1, 4, shuffle.sum())
    chan_p = np.array(SEGMENT_CHANNELS)[seg]
    cust_chan = (rng.random((nc, 1)) > np.cumsum(chan_p, axis=1)).sum(axis=1)
    cust_chan = np.minimum(cust_chan, len(CHANNELS) - 1)
    cust_partial = rng.random(nc) < 0.65
    cust_cs = np.array(SEGMENT_CASE_PREF)[seg]
    cust_disc = np.array([0.0, 0.12, 0.07, 0.03])[tier] + rng.uniform(-0.02, 0.02, nc)
    cust_eu = cust_site == 3
    cust_carrier = np.zeros((nc, 3), dtype=np.int64)
    for mode in range(3):
        for eu in (False, True):
            cands = [k for k, c in enumerate(CARRIERS) if c.eu == eu and mode in c.modes]
            p = np.array([CARRIERS[k].pref for k in cands])
            m = cust_eu == eu
            cust_carrier[m, mode] = np.array(cands)[rng.choice(len(cands), m.sum(), p=p / p.sum())]

    # --- demand calibration ----------------------------------------------------------
    days = np.arange(start_day, as_of_day)
    total_factor = sum(
        WEEKDAY_FACTOR[int(dow(d))]
        * (1.0 + 0.07 * (d - as_of_day) / 365.0)
        * (1.0 + 0.07 * np.sin(2 * np.pi * (d + 40) / 365.25))
        for d in days
    )
    base_orders = site_share * scale.order_lines / (MEAN_LINES_PER_ORDER * total_factor)
    avg_wf = float(np.mean(WEEKDAY_FACTOR))
    loc_il = [np.flatnonzero(il_loc == si) for si in range(n_sites)]
    loc_cdf = [_cdf(il_w[ix]) for ix in loc_il]
    il_lines = np.empty(n_il)
    for si, ix in enumerate(loc_il):
        il_lines[ix] = base_orders[si] * MEAN_LINES_PER_ORDER * avg_wf * il_w[ix] / il_w[ix].sum()
    loc_cust = [np.flatnonzero(cust_site == si) for si in range(n_sites)]
    loc_cust_cdf = [_cdf(size[ix]) for ix in loc_cust]

    # --- replenishment policy (what the planner believes) ----------------------------
    it = il_item
    e_ln = np.exp(QTY_SIGMA**2 / 2)
    e_q = mean_q[it] * e_ln * np.where(lumpy[it], 1 + LUMPY_P * (sum(LUMPY_MULT) / 2 - 1), 1.0)
    mu = il_lines * e_q
    # the planner's variance ignores bulk orders and late suppliers
    sigma = np.sqrt(il_lines * (mean_q[it] ** 2) * np.exp(2 * QTY_SIGMA**2))
    z = np.where(rng.random(n_il) < 0.18, rng.uniform(0.0, 0.6, n_il), rng.uniform(1.1, 2.0, n_il))
    horizon = lead[it] + 2.0
    s = np.ceil(mu * horizon + z * sigma * np.sqrt(horizon)).astype(np.int64)
    s = np.maximum(s, 1)
    cycle = np.array([7.0, 14.0, 28.0])[abc[it]] * rng.uniform(0.8, 1.25, n_il)
    big_s = s + np.maximum(np.ceil(mu * cycle), case_qty[it]).astype(np.int64)

    # --- identifiers and formatted master tables -------------------------------------
    item_ids = id_column("SKU", 100_001 + np.arange(n))
    sup_ids = id_column("SUP", 1 + np.arange(n_sup), 4)
    cust_ids = id_column("C", 10_001 + np.arange(nc))
    zone = np.array(["A", "B", "C"])[abc[it]]
    il_bin = pl.select(
        pl.format(
            "{}{}-{}-{}",
            pl.Series(zone),
            pl.Series(rng.integers(1, 41, n_il)).cast(pl.String).str.zfill(2),
            pl.Series(rng.integers(1, 31, n_il)).cast(pl.String).str.zfill(2),
            labels(("A", "B", "C", "D", "E"), rng.integers(0, 5, n_il)),
        )
    ).to_series()

    m = Master(
        n_items=n,
        item_ids=item_ids,
        item_cat=cat,
        abc=abc,
        case_qty=case_qty,
        cost_c=cost_c,
        price_c=price_c,
        item_sup=item_sup,
        lead=lead,
        kg=kg,
        mean_q=mean_q,
        lumpy=lumpy,
        sup_ids=sup_ids,
        sup_rel=sup_rel,
        sup_transit=sup_transit,
        n_cust=nc,
        cust_ids=cust_ids,
        cust_region=cust_region,
        cust_site=cust_site,
        cust_tier=tier,
        cust_chan=cust_chan,
        cust_partial=cust_partial,
        cust_cs=cust_cs,
        cust_disc=cust_disc,
        cust_carrier=cust_carrier,
        n_il=n_il,
        il_loc=il_loc,
        il_item=il_item,
        il_bin=il_bin,
        loc_il=loc_il,
        loc_cdf=loc_cdf,
        loc_cust=loc_cust,
        loc_cust_cdf=loc_cust_cdf,
        base_orders=base_orders,
        il_lines=il_lines,
        mu=mu,
        s=s,
        big_s=big_s,
        z=z,
    )
    m.frames = _master_frames(rng, m, clock, start_day, seg, cust_eu)
    return m


def _master_frames(
    rng: np.random.Generator,
    m: Master,
    clock: Clock,
    start_day: int,
    seg: np.ndarray,
    cust_eu: np.ndarray,
) -> dict[str, pl.DataFrame]:
    n, nc = m.n_items, m.n_cust

    def stamp(loc: np.ndarray, k: int, oldest: int) -> pl.Series:
        day = start_day - rng.integers(1, oldest, k)
        t = clock.midnight(loc, day) + rng.integers(7 * HOUR, 19 * HOUR, k)
        return ts_column(clock, t, loc, "erp")

    noun_off = np.array([0, *np.cumsum([len(c[1]) for c in CATEGORIES])])
    nouns = [x for c in CATEGORIES for x in c[1]]
    noun = noun_off[m.item_cat] + (
        rng.random(n) * np.array([len(c[1]) for c in CATEGORIES])[m.item_cat]
    ).astype(np.int64)
    description = pl.select(
        pl.format(
            "{} {}, {}",
            labels(ADJECTIVES, rng.integers(0, len(ADJECTIVES), n)),
            labels(nouns, noun),
            labels(VARIANTS, rng.integers(0, len(VARIANTS), n)),
        )
    ).to_series()
    items = pl.DataFrame(
        {
            "item_id": m.item_ids,
            "description": description,
            "category": labels([c[0] for c in CATEGORIES], m.item_cat),
            "abc_class": labels(("A", "B", "C"), m.abc),
            "case_qty": m.case_qty,
            "unit_cost": money_column(m.cost_c),
            "unit_price": money_column(m.price_c),
            "supplier_id": m.sup_ids.gather(m.item_sup),
            "lead_time_days": m.lead,
            "updated_at": stamp(np.zeros(n, dtype=np.int64), n, 90),
        }
    )
    suffix = np.where(cust_eu, 5, 0) + rng.integers(0, 5, nc)
    names = pl.select(
        pl.format(
            "{} {} {}",
            labels(NAME_A, rng.integers(0, len(NAME_A), nc)),
            labels(NAME_B, rng.integers(0, len(NAME_B), nc)),
            labels(SUFFIX_US + SUFFIX_EU, suffix),
        )
    ).to_series()
    customers = pl.DataFrame(
        {
            "customer_id": m.cust_ids,
            "name": names,
            "segment": labels(SEGMENTS, seg),
            "priority_tier": m.cust_tier,
            "region": labels([r.name for r in REGIONS], m.cust_region),
            "updated_at": stamp(m.cust_site, nc, 90),
        }
    )
    ns = len(SITES)
    loc = np.arange(ns)
    locations = pl.DataFrame(
        {
            "location_id": [s.location_id for s in SITES],
            "name": [s.name for s in SITES],
            "entity_id": [s.entity_id for s in SITES],
            "region": [s.region for s in SITES],
            "timezone": [s.timezone for s in SITES],
            "wave_based": [s.wave_based for s in SITES],
            "updated_at": ts_column(
                clock, clock.midnight(loc, np.full(ns, start_day - 100)) + 9 * HOUR, loc, "erp"
            ),
        }
    )
    return {"items": items, "customers": customers, "locations": locations}
