"""Stock control: ABC cycle counts with variances, manual inventory adjustments, transfers.

User codes in the adjustment buffer: 0-99 inventory clerks of the site, 100-199 cycle
counters of the site, 1000+ the odd accounts of `config.ODD_USERS`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from control_tower.demo.clock import DAY, HOUR, MINUTE, NEVER
from control_tower.demo.config import S_WH, SITES
from control_tower.demo.vec import uniform_int

if TYPE_CHECKING:
    from control_tower.demo.engine import Engine

TOLERANCE = np.array([0.01, 0.03, 0.05])  # A, B, C
COUNT_P = np.array([1 / 21, 1 / 63, 1 / 126])  # A monthly, B quarterly, C twice a year
CYCLE_COUNT, DAMAGE, FOUND, SHRINK, CORRECTION = range(5)
COUNTER, ODD = 100, 1000


def count_and_adjust(eng: Engine, day: int) -> None:
    """The day's cycle counts (and their adjustments) and other stock adjustments."""
    m, clock = eng.m, eng.clock
    rng = eng.rng(S_WH, day)
    abc = m.abc[m.il_item]
    avail_all = eng.on_hand - eng.alloc_by_il() - eng.quar

    # --- cycle counts --------------------------------------------------------------------
    sel = np.flatnonzero(rng.random(m.n_il) < COUNT_P[abc])
    k = sel.size
    if k:
        loc = m.il_loc[sel]
        system = eng.on_hand[sel]
        tol = TOLERANCE[abc[sel]]
        band = np.floor(tol * system).astype(np.int64)
        u = rng.random(k)
        exact = np.where(loc == 1, 0.74, 0.83)  # the congested site counts worse
        within = (u >= exact) & (u < exact + 0.1) & (band >= 1)
        outside = u >= exact + 0.1
        sign = np.where(rng.random(k) < 0.6, -1, 1)
        v_in = sign * uniform_int(rng, 1, np.maximum(band, 1))
        v_out = sign * np.maximum(
            band + 1, np.round(system * rng.uniform(1.5, 4.0, k) * (tol + 0.01))
        )
        v_out = np.where(system == 0, uniform_int(rng, 1, 5), v_out)
        v = np.where(within, v_in, np.where(outside, v_out, 0)).astype(np.int64)
        v = np.maximum(v, -avail_all[sel])  # cannot count away stock that is promised
        counted_at = clock.midnight(loc, day) + rng.integers(6 * HOUR, 15 * HOUR, k)
        counter = rng.integers(0, 8, k)
        eng.buf.add(
            "cycle_counts",
            count_no=eng.next_ids("count", k),
            il=sel,
            ts=counted_at,
            system=system,
            counted=system + v,
            counter=counter,
        )
        nz = np.flatnonzero(v != 0)
        eng.buf.add(
            "inventory_adjustments",
            adj_no=eng.next_ids("adjustment", nz.size),
            il=sel[nz],
            ts=counted_at[nz] + rng.integers(15 * MINUTE, 120 * MINUTE, nz.size),
            delta=v[nz],
            reason=np.full(nz.size, CYCLE_COUNT),
            user=COUNTER + counter[nz],
        )
        eng.on_hand[sel] += v
        avail_all[sel] += v

    # --- other adjustments ---------------------------------------------------------------
    n_adj = rng.poisson(max(0.5, m.n_il / 120))
    il = np.unique(rng.integers(0, m.n_il, n_adj))
    k = il.size
    reason = rng.choice(np.array([FOUND, SHRINK, DAMAGE]), size=k, p=[0.3, 0.3, 0.4])
    delta = np.where(reason == FOUND, 1, -1) * np.where(
        reason == DAMAGE, uniform_int(rng, 1, 4 * np.ones(k)), uniform_int(rng, 1, 6 * np.ones(k))
    )
    ts = clock.midnight(m.il_loc[il], day) + rng.integers(7 * HOUR, 18 * HOUR, k)
    user = rng.integers(0, 6, k)
    # a few anomalies per site: a huge adjustment, an odd account, an odd hour
    for si in range(len(SITES)):
        if rng.random() >= 0.07:
            continue
        ix = m.loc_il[si]
        a = int(ix[rng.integers(0, ix.size)])
        kind = int(rng.integers(0, 3))
        r, d = FOUND, int(rng.integers(1, 6))
        t = int(clock.midnight(si, day)) + int(rng.integers(9 * HOUR, 17 * HOUR))
        u_ = int(rng.integers(0, 6))
        if kind == 0:
            size = max(int(m.case_qty[m.il_item[a]]), int(m.mean_q[m.il_item[a]]))
            if avail_all[a] > 50 and rng.random() < 0.5:
                r, d = SHRINK, -int(avail_all[a])
            else:
                r, d = CORRECTION, int(rng.uniform(10, 30) * size)
        elif kind == 1:
            u_ = ODD + int(rng.integers(0, 5))
        else:
            t = int(clock.midnight(si, day)) + 3 * HOUR + int(rng.integers(0, 50 * MINUTE))
        il = np.append(il, a)
        reason = np.append(reason, r)
        delta = np.append(delta, d)
        ts = np.append(ts, t)
        user = np.append(user, u_)
    # apply one at a time where an item-location repeats, never below what is promised
    for j in range(il.size):
        delta[j] = max(int(delta[j]), -int(avail_all[il[j]]))
        avail_all[il[j]] += delta[j]
        eng.on_hand[il[j]] += delta[j]
    nz = delta != 0
    eng.buf.add(
        "inventory_adjustments",
        adj_no=eng.next_ids("adjustment", int(nz.sum())),
        il=il[nz],
        ts=ts[nz],
        delta=delta[nz],
        reason=reason[nz],
        user=user[nz],
    )


# Transfers between sites: about one every other business day. They are records of the WMS
# only: the simulated stock does not move (the demo's other figures stay as they are).
TRANSFER_P = 0.5
TRANSFER_CANCELLED_P = 0.05
TRANSFER_SITES = [
    i for i, s in enumerate(SITES) if sum(t.entity_id == s.entity_id for t in SITES) > 1
]


def transfers(eng: Engine, day: int) -> None:
    """The day's stock transfer orders, with where each stands at the extract cutoff."""
    m = eng.m
    rng = eng.rng(S_WH, day, 1)  # a stream of its own: the counts' draws stay as they were
    if rng.random() >= TRANSFER_P:
        return
    # between two sites of one legal entity (the US network: Rotterdam has no sister site)
    src = int(rng.choice(TRANSFER_SITES))
    peers = [i for i in TRANSFER_SITES if i != src and SITES[i].entity_id == SITES[src].entity_id]
    dst = int(rng.choice(peers))
    ix = m.loc_il[src]
    il = int(ix[rng.integers(0, ix.size)])
    case = int(m.case_qty[m.il_item[il]])
    cases = int(rng.integers(1, 6))
    created = int(eng.clock.midnight(src, day)) + int(rng.integers(8 * HOUR, 16 * HOUR))
    shipped = created + int(rng.integers(4 * HOUR, 30 * HOUR))
    received = shipped + int(rng.integers(1 * DAY, 4 * DAY))
    cancelled = rng.random() < TRANSFER_CANCELLED_P
    shipped_ts = NEVER if cancelled or shipped > eng.cutoff else shipped
    received_ts = NEVER if shipped_ts == NEVER or received > eng.cutoff else received
    status = 3 if cancelled else 2 if received_ts != NEVER else 1 if shipped_ts != NEVER else 0
    updated = max(t for t in (created, shipped_ts, received_ts) if t != NEVER)
    eng.buf.add(
        "stock_transfers",
        transfer_no=eng.next_ids("transfer", 1),
        src=np.array([src]),
        dst=np.array([dst]),
        item=np.array([m.il_item[il]]),
        qty=np.array([cases * case]),
        created=np.array([created]),
        shipped=np.array([shipped_ts]),
        received=np.array([received_ts]),
        status=np.array([status]),
        upd=np.array([updated]),
    )
