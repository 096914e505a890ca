"""Order intake: a day's order lines and their first promise (ATP, with optimism and tight dates)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from control_tower.demo.clock import (
    HOUR,
    MINUTE,
    add_work_days,
    dow,
    next_work_day,
    sub_work_days,
)
from control_tower.demo.config import S_ORDERS, SITES
from control_tower.demo.master import LUMPY_MULT, LUMPY_P, MEAN_LINES_PER_ORDER, QTY_SIGMA
from control_tower.demo.vec import cumcount, group_cumsum

if TYPE_CHECKING:
    from control_tower.demo.engine import Engine

REQUEST_DAYS = np.array([1, 2, 3, 4, 5, 7, 10, 14])
REQUEST_P = np.array([0.20, 0.25, 0.18, 0.10, 0.10, 0.09, 0.05, 0.03])
EDI, WEB, SALES_REP, PHONE = range(4)


def _order_seconds(rng: np.random.Generator, chan: np.ndarray) -> np.ndarray:
    """Local time of day an order is placed, by channel."""
    n = chan.size
    edi = np.where(
        rng.random(n) < 0.6, rng.uniform(0.5, 5.0, n), rng.uniform(10.0, 16.0, n)
    )  # overnight EDI batches and a midday run
    web = np.where(rng.random(n) < 0.6, rng.normal(10.5, 2.5, n), rng.normal(20.0, 1.8, n)) % 24
    rep = rng.uniform(8.0, 17.0, n)
    phone = np.clip(rng.normal(11.0, 2.5, n), 7.5, 18.0)
    hours = np.select([chan == EDI, chan == WEB, chan == SALES_REP], [edi, web, rep], phone)
    return (hours * HOUR).astype(np.int64)


def _pick(rng: np.random.Generator, pools: list[np.ndarray], cdfs: list[np.ndarray], site: np.ndarray) -> np.ndarray:  # fmt: skip
    """Draw one member of each row's site pool by its weights."""
    out = np.zeros(site.size, dtype=np.int64)
    u = rng.random(site.size)
    for si, (pool, cdf) in enumerate(zip(pools, cdfs, strict=True)):
        sel = site == si
        if sel.any():
            k = np.minimum(np.searchsorted(cdf, u[sel], side="right"), pool.size - 1)
            out[sel] = pool[k]
    return out


def new_orders(eng: Engine, day: int) -> None:
    """Draw the day's orders, promise them, queue their first versions and open them."""
    m, clock = eng.m, eng.clock
    rng = eng.rng(S_ORDERS, day)
    n_sites = len(SITES)
    factor = m.demand_factor(day, eng.as_of_day)
    lam = m.base_orders * factor * rng.lognormal(0.0, 0.08) * rng.lognormal(0.0, 0.05, n_sites)
    site = np.repeat(np.arange(n_sites), rng.poisson(lam))
    cust = _pick(rng, m.loc_cust, m.loc_cust_cdf, site)
    chan = np.where(rng.random(site.size) < 0.85, m.cust_chan[cust], rng.integers(0, 4, site.size))
    if dow(day) >= 5:  # nobody phones in or visits on weekends
        chan = np.where(chan >= SALES_REP, WEB, chan)
    sod = _order_seconds(rng, chan)
    order_ts = clock.midnight(site, day) + sod
    keep = order_ts < eng.cutoff - 5 * MINUTE  # its first version is stamped minutes later
    site, cust, chan, sod, order_ts = site[keep], cust[keep], chan[keep], sod[keep], order_ts[keep]
    n_orders = site.size
    if not n_orders:
        return
    order_no = eng.next_ids("order", n_orders)
    requested = next_work_day(day + rng.choice(REQUEST_DAYS, n_orders, p=REQUEST_P))
    n_lines = np.minimum(rng.geometric(1.0 / MEAN_LINES_PER_ORDER, n_orders), 30)

    # --- lines -----------------------------------------------------------------------
    k = np.repeat(np.arange(n_orders), n_lines)
    n = k.size
    loc, cust_l, chan_l, ts_l = site[k], cust[k], chan[k], order_ts[k]
    il = _pick(rng, m.loc_il, m.loc_cdf, loc)
    item = m.il_item[il]
    q = np.maximum(1, np.round(m.mean_q[item] * rng.lognormal(0.0, QTY_SIGMA, n)))
    bulk = m.lumpy[item] & (rng.random(n) < LUMPY_P)
    q = np.where(bulk, np.round(q * rng.uniform(*LUMPY_MULT, n)), q).astype(np.int64)
    case = m.case_qty[item]
    in_cases = (case > 1) & (rng.random(n) < m.cust_cs[cust_l] * 0.8)
    cases = np.maximum(1, np.round(q / case)).astype(np.int64)
    qty = np.where(in_cases, cases * case, q)
    qty_uom = np.where(in_cases, cases, q)
    price = m.price_c[item] * (1 - m.cust_disc[cust_l]) * (1 + rng.normal(0, 0.01, n))
    price_c = np.maximum(1, eng.fx.local_cents(price, loc, day))  # NL01 sells in euros

    # --- available to promise at order time (in order of arrival) ----------------------
    p = eng.pool.a
    alloc = np.bincount(p["il"], weights=p["alloc"], minlength=m.n_il)
    committed = np.bincount(p["il"], weights=p["rem"] - p["alloc"], minlength=m.n_il)
    atp = (eng.on_hand - alloc - eng.quar - committed).astype(np.int64)
    o = np.lexsort((ts_l, il))
    in_stock = np.empty(n, dtype=bool)
    in_stock[o] = group_cumsum(il[o], qty[o]) <= atp[il[o]]

    # --- first promise ---------------------------------------------------------------
    tier = m.cust_tier[cust_l]
    transit = eng.region_transit[m.cust_region[cust_l]]
    cutoff_h = np.array([s.order_cutoff_h for s in SITES])[loc]
    same_day = (sod[k] < cutoff_h * HOUR) & (dow(day) < 5)
    earliest = np.where(same_day, day, next_work_day(np.full(n, day + 1)))
    feasible = add_work_days(earliest, transit)
    req_l = requested[k]
    # sales accepts some requested dates tighter than the standard lead time
    promised = np.where((req_l >= feasible) | (rng.random(n) < 0.25), req_l, feasible)
    # without stock, EDI auto-confirms and others often promise anyway; the rest wait for supply
    optimistic = rng.random(n) < np.where(chan_l == EDI, 0.75, 0.4)
    supply = add_work_days(np.maximum(eng.next_receipt(day)[il] + 1, earliest), transit)
    promised = np.where(in_stock | optimistic, promised, np.maximum(promised, supply))
    promised = next_work_day(np.maximum(promised, day + 1))
    # released to the warehouse one work day before it must leave (future-dated lines wait)
    ps = np.maximum(sub_work_days(promised, transit + 1), earliest)

    upd0 = ts_l + rng.integers(30, 5 * MINUTE, n)
    cancel_day = np.where(rng.random(n) < 0.008, day + rng.integers(0, 4, n), 10**9)
    prio = ps * 1000 + (tier - 1) * 700 + rng.integers(0, 1000, n)
    line = {
        "order_no": order_no[k],
        "line_no": cumcount(k) + 1,
        "loc": loc,
        "cust": cust_l,
        "item": item,
        "chan": chan_l,
        "order_ts": ts_l,
        "qty_uom": qty_uom,
        "uom": in_cases.astype(np.int64),
        "price_c": price_c,
        "requested": req_l,
        "promised": promised,
    }
    eng.buf.add(
        "sales_order_lines",
        **line,
        status=np.zeros(n, dtype=np.int64),
        upd=upd0,
        order_day=np.full(n, day),
    )
    eng.pool.append(
        {
            **line,
            "il": il,
            "tier": tier,
            "qty": qty,
            "rem": qty,
            "alloc": np.zeros(n),
            "upd0": upd0,
            "order_day": np.full(n, day),
            "first_prom": promised,
            "ps": ps,
            "transit": transit,
            "partial_ok": m.cust_partial[cust_l],
            "n_ship": np.zeros(n),
            "status": np.zeros(n),
            "chg_ts": upd0,
            "repromised": np.zeros(n),
            "last_del": np.zeros(n),
            "last_ship": np.zeros(n),
            "cancel_day": cancel_day,
            "prio": prio,
        }
    )
    eng.order_lines += n
