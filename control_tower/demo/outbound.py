"""Outbound: a day's picked lines become waves, WMS shipments, TMS freight, tracking and returns.

Every future step of a shipment (pickup, transit, delivery, return) is drawn when it
ships; what happened before the extract cutoff is written, the rest left open.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from control_tower.demo.clock import (
    DAY,
    HOUR,
    MINUTE,
    NEVER,
    add_work_days,
    next_work_day,
)
from control_tower.demo.config import CARRIERS, REGIONS, S_OUT, SITES
from control_tower.demo.vec import cumcount, group_ids, uniform_int

if TYPE_CHECKING:
    from control_tower.demo.engine import Engine

C_LATE = np.array([c.late_p for c in CARRIERS])
C_NOSHOW = np.array([c.noshow_p for c in CARRIERS])
C_COST = np.array([c.cost_factor for c in CARRIERS])
C_EU = np.array([c.eu for c in CARRIERS])
C_HUB_OFF = np.array([0, *np.cumsum([len(c.hubs) for c in CARRIERS])])
C_HUB_N = np.array([len(c.hubs) for c in CARRIERS])
HUBS = [h for c in CARRIERS for h in c.hubs]
PLACES = [s.city for s in SITES] + HUBS + [r.city for r in REGIONS]
PLACE_HUB0 = len(SITES)
PLACE_REGION0 = len(SITES) + len(HUBS)
TIER_EXPEDITE = np.array([0.0, 0.6, 0.3, 0.03])
PLANNED_WAVE = 120 * MINUTE
CUTOFFS_H = np.array([11.0, 15.0, 18.5])  # carrier pickups at the order-by-order site
EV_TENDER, EV_PICKUP, EV_TRANSIT, EV_DELAY, EV_EXCEPTION, EV_DELIVERED = range(6)


def _alternative_table() -> np.ndarray:
    """For each (carrier, mode): two other carriers of the same continent serving the mode."""
    table = np.zeros((len(CARRIERS), 3, 2), dtype=np.int64)
    for k, c in enumerate(CARRIERS):
        for mode in range(3):
            cands = [
                j for j, o in enumerate(CARRIERS) if o.eu == c.eu and mode in o.modes and j != k
            ]
            cands = cands or [k]
            table[k, mode] = [cands[0], cands[-1]]
    return table


ALTERNATIVE = _alternative_table()


def _alternative(rng: np.random.Generator, carrier: np.ndarray, mode: np.ndarray) -> np.ndarray:
    """Another carrier serving the same continent and mode (itself when there is none)."""
    return ALTERNATIVE[carrier, mode, rng.integers(0, 2, carrier.size)]


def _waves(eng: Engine, rng: np.random.Generator, day: int, si: int, rank: np.ndarray,
           order_sod: np.ndarray, load: float) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Assign a wave site's picked lines to the day's waves; returns (wave no, pack-out time)."""
    nw, k = int(eng.waves[si]), rank.size
    mid = int(eng.clock.midnight(si, day))
    rel_sod = np.round((6.0 + np.arange(nw) * 8.0 / (nw - 1)) * 12) * 5 * MINUTE
    j = np.maximum(rank * nw // k, np.searchsorted(rel_sod, order_sod + 30 * MINUTE))
    j = np.minimum(j, nw - 1)
    waves = np.unique(j)
    nwv = waves.size
    planned = mid + rel_sod[waves]
    delay = rng.normal(3.0, 5.0, nwv) * MINUTE
    late = rng.random(nwv) < 0.04 + 0.8 * max(0.0, load - 1.0)
    delay += late * rng.uniform(16, 90, nwv) * (1 + waves / nw) * MINUTE
    early = ~late & (rng.random(nwv) < 0.03)
    delay -= early * rng.uniform(16, 35, nwv) * MINUTE
    released = (planned + delay).astype(np.int64)
    duration = 100 * MINUTE * (0.7 + 0.3 * min(load, 1.8)) * rng.lognormal(0.0, 0.12, nwv)
    completed = (released + duration).astype(np.int64)
    count = np.bincount(j, minlength=nw)[waves]
    loc = np.full(nwv, si)
    eng.buf.add(
        "waves",
        loc=loc,
        day=np.full(nwv, day),
        j=waves,
        planned_rel=planned,
        rel=released,
        planned_comp=planned + PLANNED_WAVE,
        comp=completed,
        planned_lines=count,
        picked_lines=count,
        status=np.full(nwv, 2),
        upd=completed + rng.integers(MINUTE, 10 * MINUTE, nwv),
    )
    # a few waves are cancelled (lines merged into the next one) or never released
    for extra, status, p in ((nw, 3, 0.04), (nw + 1, 0, 0.015)):
        if rng.random() < p:
            t = mid + int(rel_sod[rng.integers(0, nw)])
            lead = rng.integers(10, 60) if status == 3 else rng.integers(60, 180)
            eng.buf.add(
                "waves",
                loc=np.array([si]),
                day=np.array([day]),
                j=np.array([extra]),
                planned_rel=np.array([t]),
                rel=np.array([NEVER]),
                planned_comp=np.array([t + PLANNED_WAVE]),
                comp=np.array([NEVER]),
                planned_lines=np.array([rng.integers(5, 40)]),
                picked_lines=np.array([0]),
                status=np.array([status]),
                upd=np.array([t - lead * MINUTE]),
            )
    pos = np.searchsorted(waves, j)
    return j, completed[pos] + rng.integers(10 * MINUTE, 45 * MINUTE, k)


def ship(eng: Engine, day: int, idx: np.ndarray, load: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Ship pool lines `idx` (sorted by site, then priority) on `day`.

    Returns per line the shipped instant and the delivery instant (NEVER when not
    delivered before the extract cutoff).
    """
    m, clock, p = eng.m, eng.clock, eng.pool.a
    rng = eng.rng(S_OUT, day)
    n = idx.size
    loc = p["loc"][idx]
    item = p["item"][idx]
    qty = p["alloc"][idx]
    mid = clock.midnight(loc, day)
    order_sod = np.where(p["order_day"][idx] == day, p["order_ts"][idx] - mid, -DAY)
    rank = cumcount(loc)
    line_ts = np.zeros(n, dtype=np.int64)
    wave_j = np.full(n, -1, dtype=np.int64)
    pickup_sod = np.full(n, 18 * HOUR, dtype=np.int64)
    for si, site in enumerate(SITES):
        sel = np.flatnonzero(loc == si)
        if not sel.size:
            continue
        if site.waves:
            wave_j[sel], line_ts[sel] = _waves(
                eng, rng, day, si, rank[sel], order_sod[sel], float(load[si])
            )
        else:  # order by order through the day against the carrier cutoffs
            share = rank[sel] / sel.size
            target = (7.0 + share * 10.5) * HOUR
            cut = np.minimum(np.searchsorted(CUTOFFS_H * HOUR, target + 30 * MINUTE), 2)
            pickup_sod[sel] = (CUTOFFS_H[cut] * HOUR).astype(np.int64)
            lag = np.abs(rng.normal(0, 15, sel.size)) * MINUTE
            lag += max(0.0, float(load[si]) - 1.0) * 2.5 * HOUR * share
            line_ts[sel] = mid[sel] + (target + lag).astype(np.int64)
    line_ts = np.maximum(line_ts, p["order_ts"][idx] + 30 * MINUTE)

    # --- WMS shipments: one per order and day ------------------------------------------
    order_no = p["order_no"][idx]
    o = np.argsort(order_no, kind="stable")
    inv = np.empty(n, dtype=np.int64)
    inv[o] = group_ids(order_no[o])
    ns = int(inv.max()) + 1
    ship_no = eng.next_ids("shipment", ns)
    s_ts = np.zeros(ns, dtype=np.int64)
    np.maximum.at(s_ts, inv, line_ts)
    s_pick_sod = np.zeros(ns, dtype=np.int64)
    np.maximum.at(s_pick_sod, inv, pickup_sod)
    s_last_order = np.zeros(ns, dtype=np.int64)
    np.maximum.at(s_last_order, inv, p["order_ts"][idx])
    s_prom = np.full(ns, 10**9, dtype=np.int64)
    np.minimum.at(s_prom, inv, p["promised"][idx])
    s_loc = np.empty(ns, dtype=np.int64)
    s_loc[inv] = loc
    s_cust = np.empty(ns, dtype=np.int64)
    s_cust[inv] = p["cust"][idx]
    s_tier = m.cust_tier[s_cust]
    kg = np.bincount(inv, weights=qty * m.kg[item], minlength=ns)
    case = m.case_qty[item]
    in_cases = (p["uom"][idx] == 1) & (qty % case == 0) & (loc != 2) & (rng.random(n) < 0.65)
    eng.buf.add(
        "shipments",
        ship_no=ship_no[inv],
        order_no=order_no,
        line_no=p["line_no"][idx],
        item=item,
        loc=loc,
        day=np.full(n, day),
        wave_j=wave_j,
        qty_uom=np.where(in_cases, qty // case, qty),
        uom=in_cases.astype(np.int64),
        ts=s_ts[inv],
    )

    # --- TMS freight ---------------------------------------------------------------------
    s_mid = clock.midnight(s_loc, day)
    mode = np.where(kg < 68, 0, np.where(kg < 4500, 1, 2))
    carrier = m.cust_carrier[s_cust, mode]
    alt = np.flatnonzero(rng.random(ns) < 0.1)
    carrier[alt] = _alternative(rng, carrier[alt], mode[alt])
    transit = eng.region_transit[m.cust_region[s_cust]]
    planned_pickup = s_mid + s_pick_sod
    missed = s_ts > planned_pickup
    noshow = rng.random(ns) < C_NOSHOW[carrier]
    pick_day = np.where(missed | noshow, next_work_day(np.full(ns, day + 1)), day)
    pickup = clock.midnight(s_loc, pick_day) + s_pick_sod
    pickup += np.clip(rng.normal(10, 20, ns), -15, 120).astype(np.int64) * MINUTE
    pickup = np.maximum(pickup, s_ts + 10 * MINUTE)
    slack = s_prom - add_work_days(pick_day, transit)
    at_risk = slack < 0
    expedite = (at_risk & (rng.random(ns) < TIER_EXPEDITE[s_tier])) | (rng.random(ns) < 0.01)
    economy = (slack >= 2) & (s_tier == 3) & (rng.random(ns) < 0.3)
    t_eff = np.where(expedite, 1, transit + economy)
    service = np.where(expedite, 2, economy.astype(np.int64))
    promised_ts = clock.midnight(s_loc, add_work_days(np.full(ns, day), t_eff)) + 17 * HOUR
    late = rng.random(ns) < C_LATE[carrier] * np.where(expedite, 0.4, 1.0)
    slip = late * (1 + (rng.random(ns) < 0.3) + (rng.random(ns) < 0.1))
    early = (t_eff >= 2) & ~late & (rng.random(ns) < 0.12)
    exc = rng.random(ns) < 0.005
    n_days = np.maximum(1, t_eff + slip - early) + exc * rng.integers(2, 6, ns)
    deliv_day = add_work_days(pick_day, n_days)
    deliv = clock.midnight(s_loc, deliv_day) + rng.integers(8 * HOUR, int(17.25 * HOUR), ns)
    deliv = np.maximum(deliv, pickup + 3 * HOUR)
    exc_ts = np.where(exc, pickup + rng.integers(5 * HOUR, 30 * HOUR, ns), NEVER)
    exc_ts = np.where(exc, np.minimum(exc_ts, deliv - HOUR), NEVER)
    delayed = deliv > promised_ts
    delay_ts = np.clip(promised_ts - rng.integers(2 * HOUR, 20 * HOUR, ns), pickup + 30 * MINUTE, deliv - 30 * MINUTE)  # fmt: skip
    delay_ts = np.where(delayed, delay_ts, NEVER)
    reason = np.where(missed | noshow, 5, np.where(exc, 6 + (rng.random(ns) < 0.3), rng.integers(0, 5, ns)))  # fmt: skip
    tender = np.maximum(
        s_ts - rng.integers(30 * MINUTE, 150 * MINUTE, ns), s_last_order + 30 * MINUTE
    )

    base = np.select(
        [mode == 0, mode == 1],
        [9 + 1.4 * kg**0.85, 110 + 0.16 * kg * (0.8 + 0.2 * transit)],
        900 + 350 * transit,
    )
    planned_c = np.round(base * C_COST[carrier] * np.where(C_EU[carrier], 95, 100)).astype(np.int64)
    actual = np.where(
        expedite,
        planned_c * rng.uniform(1.8, 3.2, ns),
        planned_c * (1 + rng.normal(0.01, 0.03, ns)),
    )
    # accessorials (liftgate, residential, detention) on some shipments
    actual += (rng.random(ns) < 0.08) * (
        planned_c * rng.uniform(0.1, 0.4, ns) + rng.uniform(100, 800, ns)
    )
    cut = eng.cutoff
    delivered = deliv < cut
    actual_c = np.where(delivered, np.maximum(0, np.round(actual)), -1).astype(np.int64)
    # freight for DC-RTM is billed to NL01 in euros at the shipping day's rate
    planned_c = eng.fx.local_cents(planned_c, s_loc, day)
    actual_c = eng.fx.local_cents(actual_c, s_loc, day)
    status = np.select(
        [delivered, exc_ts < cut, pickup < cut], [2, 3, 1], 0
    )  # delivered, exception, in transit, tendered
    happened = np.stack([tender, pickup, exc_ts, delay_ts, deliv])
    upd = np.where(happened < cut, happened, 0).max(axis=0) + 2 * MINUTE
    upd = np.minimum(upd, cut - MINUTE)
    tms_no = eng.next_ids("tms", ns)
    eng.buf.add(
        "freight_shipments",
        tms_no=tms_no,
        ship_no=ship_no,
        carrier=carrier,
        mode=mode,
        service=service,
        planned_pickup=planned_pickup,
        pickup=np.where(pickup < cut, pickup, NEVER),
        promised=promised_ts,
        deliv=np.where(delivered, deliv, NEVER),
        planned_c=planned_c,
        actual_c=actual_c,
        expedited=expedite,
        status=status,
        upd=upd,
        day=np.full(ns, day),
    )
    # some tenders are first rejected by another carrier (cancelled freight shipments)
    rej = np.flatnonzero(rng.random(ns) < 0.006)
    if rej.size:
        rej_no = eng.next_ids("tms", rej.size)
        eng.buf.add(
            "freight_shipments",
            tms_no=rej_no,
            ship_no=ship_no[rej],
            carrier=_alternative(rng, carrier[rej], mode[rej]),
            mode=mode[rej],
            service=service[rej],
            planned_pickup=planned_pickup[rej],
            pickup=np.full(rej.size, NEVER),
            promised=promised_ts[rej],
            deliv=np.full(rej.size, NEVER),
            planned_c=planned_c[rej],
            actual_c=np.full(rej.size, -1),
            expedited=np.zeros(rej.size, dtype=bool),
            status=np.full(rej.size, 4),
            upd=tender[rej] - 10 * MINUTE,
            day=np.full(rej.size, day),
        )
        _events(eng, rej_no, [(EV_TENDER, tender[rej] - 20 * MINUTE, s_loc[rej], -1)])

    # --- tracking events -----------------------------------------------------------------
    n_scan = np.maximum(1, deliv_day - pick_day)
    scan_of = np.repeat(np.arange(ns), n_scan)
    k = cumcount(scan_of)
    scan_ts = pickup[scan_of] + 3 * HOUR + k * DAY + rng.integers(0, 2 * HOUR, scan_of.size)
    scan_ts = np.minimum(scan_ts, deliv[scan_of] - 30 * MINUTE - k)
    hub = PLACE_HUB0 + C_HUB_OFF[carrier[scan_of]] + k % C_HUB_N[carrier[scan_of]]
    region_place = PLACE_REGION0 + m.cust_region[s_cust]
    _events(
        eng,
        tms_no,
        [
            (EV_TENDER, tender, s_loc, -1),
            (EV_PICKUP, pickup, s_loc, -1),
            (EV_DELAY, delay_ts, -1, reason),
            (EV_EXCEPTION, exc_ts, -1, reason),
            (EV_DELIVERED, deliv, region_place, -1),
        ],
    )
    _events(eng, tms_no[scan_of], [(EV_TRANSIT, scan_ts, hub, -1)])

    # --- customer returns ------------------------------------------------------------------
    line_deliv = deliv[inv]
    ok = line_deliv < cut
    late_first = clock.local_day(loc, line_deliv) > p["first_prom"][idx]
    poor = C_LATE[carrier[inv]] > 0.15
    probs = np.stack(
        [
            0.004 * np.where(poor, 3.0, 1.0) + 0.5 * exc[inv],  # damaged
            0.003 * (1 + 3 * np.maximum(0.0, load[loc] - 1.0)),  # wrong item (congestion)
            np.where(late_first, 0.015, 0.0),  # late
            np.full(n, 0.004),  # customer change
            np.full(n, 0.002),  # other
        ]
    )
    reason_r = (rng.random(n) > np.cumsum(probs, axis=0)).sum(axis=0)
    ret = np.flatnonzero(ok & (reason_r < 5))
    if ret.size:
        r = reason_r[ret]
        q = qty[ret]
        r_qty = np.where(r == 0, uniform_int(rng, 1, np.maximum(1, q // 3)), q)
        r_qty = np.where(r >= 3, uniform_int(rng, 1, q), r_qty)
        r_day = clock.local_day(loc[ret], line_deliv[ret]) + rng.integers(1, 22, ret.size)
        created = clock.midnight(loc[ret], r_day) + rng.integers(8 * HOUR, 17 * HOUR, ret.size)
        credited = (
            created + rng.integers(2, 15, ret.size) * DAY + rng.integers(0, 6 * HOUR, ret.size)
        )
        keep = created < cut
        ret, r, r_qty, created, credited = (
            ret[keep],
            r[keep],
            r_qty[keep],
            created[keep],
            credited[keep],
        )
        order_ret = order_no[ret]
        key = order_ret * 40_000 + (created // DAY) % 40_000
        o = np.argsort(key, kind="stable")
        rma = eng.next_ids("rma", int(group_ids(key[o]).max(initial=-1)) + 1)
        eng.buf.add(
            "returns",
            rma_no=rma[group_ids(key[o])],
            line_no=cumcount(key[o]) + 1,
            order_no=order_ret[o],
            order_line=p["line_no"][idx[ret]][o],
            item=item[ret][o],
            qty=r_qty[o],
            reason=r[o],
            created=created[o],
            credited=np.where(credited < cut, credited, NEVER)[o],
            loc=loc[ret][o],
        )
    return s_ts[inv], np.where(ok, line_deliv, NEVER)


def _events(eng: Engine, tms_no: np.ndarray,
            specs: list[tuple[int, np.ndarray, np.ndarray | int, np.ndarray | int]]) -> None:  # fmt: skip
    """Queue tracking events (type, instant, place code, reason code) that happened before the cutoff."""
    for ev, ts, place, reason in specs:
        ts = np.asarray(ts)
        keep = ts < eng.cutoff
        if not keep.any():
            continue
        size = ts.size
        eng.buf.add(
            "tracking_events",
            tms_no=tms_no[keep],
            ts=ts[keep],
            type=np.full(keep.sum(), ev),
            reason=np.broadcast_to(np.asarray(reason), size)[keep],
            place=np.broadcast_to(np.asarray(place), size)[keep],
        )
