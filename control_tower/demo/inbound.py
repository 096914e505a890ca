"""Inbound: replenishment purchase orders, supplier delays, receipts, put-away and AP invoices.

A purchase order line's whole future (dispatch, arrival, split and short receipts,
damage, put-away, invoice and match) is drawn when it is ordered; its stock effects
are queued as dated events and the rows that happened before the cutoff are written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from control_tower.demo.clock import HOUR, MINUTE, NEVER, next_work_day
from control_tower.demo.config import ENTITY_SITE, S_IN, S_SVC
from control_tower.demo.vec import cumcount, group_ids, uniform_int

if TYPE_CHECKING:
    from control_tower.demo.engine import Engine

# supplier delay beyond the quoted lead time, by reliability class (reliable, fair, unreliable)
DELAY_MEAN = np.array([-0.4, 0.3, 1.0])
DELAY_SD = np.array([0.8, 1.3, 2.0])
DELAY_BIG_P = np.array([0.04, 0.12, 0.45])
N_SERVICE_SUPPLIERS = 40  # non-PO suppliers: the first half bill US01, the second half NL01
PO_OPEN, PO_RECEIVED, PO_CLOSED, PO_CANCELLED = range(4)
M_MATCHED, M_PRICE, M_QTY, M_NO_RECEIPT, M_PENDING = range(5)


def replenish(eng: Engine, day: int) -> None:
    """Order up to S for item-locations whose inventory position fell below the reorder point."""
    m, clock = eng.m, eng.clock
    p = eng.pool.a
    pool_rem = np.bincount(p["il"], weights=p["rem"], minlength=m.n_il).astype(np.int64)
    position = eng.on_hand - eng.quar + eng.on_order - pool_rem
    il = np.flatnonzero(position < m.s)
    if not il.size:
        return
    rng = eng.rng(S_IN, day)
    item, loc = m.il_item[il], m.il_loc[il]
    sup = m.item_sup[item]
    key = sup * 8 + loc
    o = np.lexsort((item, key))
    il, item, loc, sup, key = il[o], item[o], loc[o], sup[o], key[o]
    n = il.size
    case = m.case_qty[item]
    q = np.maximum(np.ceil((m.big_s[il] - position[il]) / case) * case, case).astype(np.int64)
    g = group_ids(key)
    n_po = int(g[-1]) + 1
    po_no = eng.next_ids("po", n_po)[g]
    line_no = cumcount(key) + 1
    in_cases = (case > 1) & (rng.random(n) < 0.55)
    # the standard cost is in dollars; NL01 buys in euros at the day's rate
    cost_c = np.maximum(
        1, eng.fx.local_cents(m.cost_c[item] * (1 + rng.normal(0, 0.01, n)), loc, day)
    )
    po_ts = (clock.midnight(loc, day) + rng.integers(8 * HOUR, 17 * HOUR, n_po)[g]).astype(np.int64)
    expected = next_work_day(day + m.lead[item])
    # supplier delay, drawn per purchase order: unreliable suppliers are often very late
    rel = m.sup_rel[sup[np.searchsorted(g, np.arange(n_po))]]
    delay = np.round(rng.normal(DELAY_MEAN[rel], DELAY_SD[rel]))
    big = rng.random(n_po) < DELAY_BIG_P[rel]
    extra = np.where(rel == 2, np.clip(rng.lognormal(np.log(9.0), 0.6, n_po), 3, 35), rng.uniform(3, 10, n_po))  # fmt: skip
    delay = (delay + big * np.round(extra)).astype(np.int64)
    arrival = next_work_day(np.maximum(expected + delay[g], day + 1))
    cancelled = rng.random(n) < 0.01
    cancel_day = np.where(
        cancelled, day + uniform_int(rng, 1, np.maximum(1, arrival - day - 1)), 10**9
    )
    # the supplier ships short (4%) or, now and then (1.5%), more than ordered: 1-8% more,
    # rounded up to whole cases
    u_qty = rng.random(n)
    short, over = u_qty < 0.04, u_qty >= 0.985
    f = rng.uniform(0.7, 0.97, n)
    extra = np.ceil(q * (f - 0.7) * 0.3 / case) * case
    total = np.where(short, np.maximum(1, np.floor(q * f)), q + over * np.maximum(case, extra))
    total = total.astype(np.int64)
    split = (rng.random(n) < 0.12) & (total >= 2)
    first = np.where(
        split, np.clip(np.round(total * rng.uniform(0.4, 0.85, n)), 1, total - 1), total
    )
    first = first.astype(np.int64)
    second_day = next_work_day(arrival + uniform_int(rng, 2, 12))

    # --- receipt parts -----------------------------------------------------------------
    live = np.flatnonzero(~cancelled)
    two = np.flatnonzero(~cancelled & split)
    pl_ = np.concatenate((live, two))
    part_qty = np.concatenate((first[live], (total - first)[two]))
    part_day = np.concatenate((arrival[live], second_day[two]))
    ploc, pil = loc[pl_], il[pl_]
    # one receipt per purchase order and arrival day; its lines arrive together
    rkey = po_no[pl_] * 50_000 + part_day % 50_000
    ro = np.argsort(rkey, kind="stable")
    rg = np.empty(pl_.size, dtype=np.int64)
    rg[ro] = group_ids(rkey[ro])
    n_r = int(rg.max(initial=-1)) + 1
    arrived = clock.midnight(ploc, part_day) + rng.integers(6 * HOUR, 17 * HOUR, n_r)[rg]
    dmg = rng.random(pl_.size) < 0.04
    damaged = np.where(dmg, np.minimum(part_qty, np.maximum(1, np.round(part_qty * rng.uniform(0.01, 0.2, pl_.size)))), 0).astype(np.int64)  # fmt: skip
    slow = rng.random(pl_.size) < np.where(ploc == 1, 0.07, 0.03)  # the busy site is slower
    hours = np.where(
        slow, rng.uniform(48, 110, pl_.size), rng.lognormal(np.log(3.5), 0.8, pl_.size)
    )
    putaway = arrived + (hours * HOUR).astype(np.int64)
    putaway = clock.in_work_hours(ploc, putaway, rng.integers(0, 2 * HOUR, pl_.size))
    put_day = clock.local_day(ploc, putaway)
    ship_day = np.maximum(day, part_day - m.sup_transit[sup[pl_]])

    eng.on_order[il] += q
    eng.schedule(2, ship_day, pil, part_qty)
    eng.schedule(2, part_day, pil, -part_qty)
    eng.schedule(0, put_day, pil, part_qty)
    eng.schedule(1, put_day, pil, damaged)
    eng.schedule(3, put_day, pil, -part_qty)
    last_put = np.zeros(n, dtype=np.int64)
    np.maximum.at(last_put, pl_, put_day)
    eng.schedule(3, last_put[live], il[live], -(q - total)[live])
    eng.schedule(3, cancel_day[cancelled], il[cancelled], -q[cancelled])
    # damaged units sit in quarantine until they are scrapped
    dispose_day = next_work_day(put_day + uniform_int(rng, 2, 10))
    dispose_ts = clock.midnight(ploc, dispose_day) + rng.integers(8 * HOUR, 16 * HOUR, pl_.size)
    eng.schedule(0, dispose_day, pil, -damaged)
    eng.schedule(1, dispose_day, pil, -damaged)
    scrap = np.flatnonzero((damaged > 0) & (dispose_ts < eng.cutoff))
    if scrap.size:
        eng.buf.add(
            "inventory_adjustments",
            adj_no=eng.next_ids("adjustment", scrap.size),
            il=pil[scrap],
            ts=dispose_ts[scrap],
            delta=-damaged[scrap],
            reason=np.full(scrap.size, 1),
            user=rng.integers(0, 6, scrap.size),
        )
    close = np.where(cancelled, cancel_day, last_put)
    eng.open_po = {
        "il": np.concatenate((eng.open_po["il"], il)),
        "expected": np.concatenate((eng.open_po["expected"], expected)),
        "close": np.concatenate((eng.open_po["close"], close)),
    }

    # --- receipts and AP invoices (one invoice per receipt) ------------------------------
    cut = eng.cutoff
    r_line = np.empty(pl_.size, dtype=np.int64)
    r_line[ro] = cumcount(rkey[ro]) + 1
    got = arrived < cut
    rcpt_no = np.full(n_r, -1, dtype=np.int64)
    has = np.zeros(n_r, dtype=bool)
    has[rg[got]] = True
    rcpt_no[has] = eng.next_ids("receipt", int(has.sum()))
    w = ro[got[ro]]
    eng.buf.add(
        "receipts",
        rcpt_no=rcpt_no[rg[w]],
        line_no=r_line[w],
        po_no=po_no[pl_[w]],
        po_line=line_no[pl_[w]],
        item=item[pl_[w]],
        loc=ploc[w],
        received=part_qty[w],
        damaged=damaged[w],
        arrived=arrived[w],
        putaway=np.where(putaway[w] < cut, putaway[w], NEVER),
    )

    g_first = np.zeros(n_r, dtype=np.int64)
    g_first[rg[ro]] = ro  # any member of each receipt (same PO, same day)
    r_day, r_loc = part_day[g_first], ploc[g_first]
    inv_day = next_work_day(r_day + rng.integers(0, 11, n_r))
    pre = rng.random(n_r) < 0.03  # the supplier invoiced on dispatch, before the goods arrived
    inv_day = np.where(pre, next_work_day(ship_day[g_first] + rng.integers(0, 3, n_r)), inv_day)
    pre &= inv_day < r_day
    inv_ts = clock.midnight(r_loc, inv_day) + rng.integers(8 * HOUR, 11 * HOUR, n_r)
    match_ts = inv_ts + (rng.lognormal(np.log(20.0), 0.9, n_r) * HOUR).astype(np.int64)
    u = rng.random(n_r)
    status = np.select([u < 0.86, u < 0.93, u < 0.98], [M_MATCHED, M_PRICE, M_QTY], M_MATCHED)
    first_pass = u < 0.86
    rcpt_arrived = np.zeros(n_r, dtype=bool)
    rcpt_arrived[rg] = got
    status = np.where(pre, np.where(rcpt_arrived, M_MATCHED, M_NO_RECEIPT), status)
    first_pass &= ~pre
    pending = match_ts >= cut
    status = np.where(pending, M_PENDING, status)
    first_pass &= ~pending
    inv_upd = np.where(pending, inv_ts + MINUTE, match_ts)
    exists = inv_ts < cut
    inv_no = np.full(n_r, -1, dtype=np.int64)
    inv_no[exists] = eng.next_ids("invoice", int(exists.sum()))
    wl = ro[exists[rg[ro]]]
    st = status[rg[wl]]
    inv_qty = part_qty[wl]
    inv_qty = np.where(st == M_QTY, np.maximum(1, inv_qty + np.where(rng.random(wl.size) < 0.5, -1, 1) * uniform_int(rng, 1, np.maximum(1, inv_qty // 10))), inv_qty)  # fmt: skip
    inv_cost = cost_c[pl_[wl]]
    sign = np.where(rng.random(wl.size) < 0.6, 1, -1)
    inv_cost = np.where(st == M_PRICE, np.maximum(1, np.round(inv_cost * (1 + sign * rng.uniform(0.02, 0.12, wl.size)))), inv_cost).astype(np.int64)  # fmt: skip
    eng.buf.add(
        "ap_invoice_lines",
        inv_no=inv_no[rg[wl]],
        line_no=r_line[wl],
        loc=ploc[wl],
        sup=sup[pl_[wl]],
        po_no=po_no[pl_[wl]],
        po_line=line_no[pl_[wl]],
        qty=inv_qty,
        cost_c=inv_cost,
        inv_day=inv_day[rg[wl]],
        first_pass=first_pass[rg[wl]],
        status=st,
        upd=inv_upd[rg[wl]],
    )

    # --- purchase order line state as of the cutoff -------------------------------------
    arrived_all = np.ones(n, dtype=bool)
    np.logical_and.at(arrived_all, pl_, got)
    matched_all = np.ones(n, dtype=bool)
    part_matched = exists[rg] & (status[rg] == M_MATCHED) & (match_ts[rg] < cut)
    np.logical_and.at(matched_all, pl_, part_matched)
    last = po_ts.copy()
    np.maximum.at(last, pl_, np.where(got, arrived, 0))
    np.maximum.at(last, pl_, np.where(part_matched, match_ts[rg], 0))
    cancel_ts = clock.midnight(loc, np.minimum(cancel_day, day + 400)) + rng.integers(9 * HOUR, 16 * HOUR, n)  # fmt: skip
    is_cancel = cancelled & (cancel_ts < cut)
    po_status = np.select(
        [is_cancel, arrived_all & ~cancelled & (matched_all | short), arrived_all & ~cancelled],
        [PO_CANCELLED, PO_CLOSED, PO_RECEIVED],
        PO_OPEN,
    )
    eng.buf.add(
        "purchase_order_lines",
        po_no=po_no,
        line_no=line_no,
        sup=sup,
        item=item,
        loc=loc,
        qty_uom=np.where(in_cases, q // case, q),
        uom=in_cases.astype(np.int64),
        cost_c=cost_c,
        order_day=np.full(n, day),
        expected=expected,
        status=po_status,
        upd=np.where(is_cancel, cancel_ts, np.maximum(last, po_ts + MINUTE)),
    )


def service_invoices(eng: Engine, day: int) -> None:
    """Non-PO invoices (rent, utilities, maintenance, IT...) for the month starting at `day`."""
    rng = eng.rng(S_SVC, day)
    clock = eng.clock
    month = clock.month(np.array([day]))[0]
    end = day
    while clock.month(np.array([end + 1]))[0] == month:
        end += 1
    end = min(end, eng.as_of_day - 1)
    if end < day:
        return
    per_entity = 4 + eng.m.n_items // 300
    n_inv = rng.poisson(per_entity, 2)
    ent = np.repeat(np.arange(2), n_inv)
    k = ent.size
    if not k:
        return
    n_lines = rng.integers(1, 4, k)
    inv_no = eng.next_ids("invoice", k)
    inv_day = next_work_day(rng.integers(day, end + 1, k))
    g = np.repeat(np.arange(k), n_lines)
    loc = np.array(ENTITY_SITE)[ent[g]]
    inv_ts = clock.midnight(loc, inv_day[g]) + rng.integers(8 * HOUR, 11 * HOUR, g.size)
    upd = np.minimum(inv_ts + rng.integers(HOUR, 72 * HOUR, g.size), eng.cutoff - MINUTE)
    keep = inv_day[g] < eng.as_of_day
    g, loc, upd = g[keep], loc[keep], upd[keep]
    half = N_SERVICE_SUPPLIERS // 2
    sup = eng.m.sup_ids.len() + (ent * half + rng.integers(0, half, k))[g]
    amount = rng.lognormal(np.log(1500.0), 1.0, g.size) * 100
    eng.buf.add(
        "ap_invoice_lines",
        inv_no=inv_no[g],
        line_no=cumcount(g) + 1,
        loc=loc,
        sup=sup,
        po_no=np.full(g.size, -1),
        po_line=np.full(g.size, -1),
        qty=np.ones(g.size, dtype=np.int64),
        cost_c=eng.fx.local_cents(amount, loc, inv_day[g]),
        inv_day=inv_day[g],
        first_pass=np.zeros(g.size, dtype=bool),
        status=np.full(g.size, M_MATCHED),
        upd=np.maximum(upd, inv_ts[keep] + MINUTE),
    )
