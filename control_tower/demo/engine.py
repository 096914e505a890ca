"""The day-by-day simulation: stock state, open order lines, allocation, picking and line versions.

One `Engine` walks the days of the history in order. Each day's work is vectorised
over item-locations and order lines; randomness comes from a generator seeded by
(seed, stream, day), so the result does not depend on how days are chunked.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from control_tower.demo import inbound, orders, outbound, warehouse
from control_tower.demo.clock import (
    DAY,
    HOUR,
    MINUTE,
    NEVER,
    Clock,
    add_work_days,
    dow,
    next_work_day,
)
from control_tower.demo.config import (
    REGIONS,
    S_FX,
    S_MASTER,
    S_OPS,
    SHIP_DAY_CAPACITY,
    SITES,
    WEEKDAY_FACTOR,
    Scale,
)
from control_tower.demo.currency import FxRates
from control_tower.demo.master import MEAN_LINES_PER_ORDER, Master
from control_tower.demo.sink import Buffers
from control_tower.demo.vec import cumcount, group_cumsum

# sales line status codes (index into config.SALES_STATUS)
OPEN, RELEASED, BACKORDERED, SHIPPED, CLOSED, CANCELLED = range(6)
FAR = 10**9  # "no such day"
FX_LEAD_DAYS = 14

POOL_FIELDS = (
    "order_no", "line_no", "loc", "il", "item", "cust", "tier", "chan", "uom", "qty_uom",
    "qty", "rem", "alloc", "price_c", "order_ts", "upd0", "order_day", "requested",
    "promised", "first_prom", "ps", "transit", "partial_ok", "n_ship", "status", "chg_ts",
    "repromised", "last_del", "last_ship", "cancel_day", "prio",
)  # fmt: skip
LINE_COLUMNS = (
    "order_no", "line_no", "loc", "cust", "item", "chan", "order_ts", "qty_uom", "uom",
    "price_c", "requested", "promised",
)  # fmt: skip


class Pool:
    """Open (not yet fully shipped, not cancelled) order lines as parallel int64 arrays."""

    def __init__(self) -> None:
        self.a: dict[str, np.ndarray] = {f: np.zeros(0, dtype=np.int64) for f in POOL_FIELDS}

    def __len__(self) -> int:
        return self.a["order_no"].size

    def append(self, new: dict[str, np.ndarray]) -> None:
        for f in POOL_FIELDS:
            self.a[f] = np.concatenate((self.a[f], np.asarray(new[f], dtype=np.int64)))

    def drop(self, idx: np.ndarray) -> None:
        keep = np.ones(len(self), dtype=bool)
        keep[idx] = False
        for f in POOL_FIELDS:
            self.a[f] = self.a[f][keep]


class Engine:
    """Simulation state and the daily step."""

    def __init__(
        self,
        seed: int,
        scale: Scale,
        master: Master,
        clock: Clock,
        start_day: int,
        as_of_day: int,
    ) -> None:
        self.seed = seed
        self.scale = scale
        self.m = master
        self.clock = clock
        self.start_day = start_day
        self.as_of_day = as_of_day
        # the extract is taken at 10:00 UTC on as_of: nothing later exists in the files
        self.cutoff = as_of_day * DAY + 10 * HOUR
        self.buf = Buffers()
        # EUR->USD rates from two weeks before the history (a weekend's rate is Friday's)
        # to the day before the extract
        self.fx = FxRates.draw(self.rng(S_FX, 0), start_day - FX_LEAD_DAYS, as_of_day - 1)
        self.pool = Pool()
        m = master
        rng = self.rng(S_MASTER, 1)
        self.on_hand = np.round(m.s * 0.5 + rng.random(m.n_il) * (m.big_s - m.s * 0.5))
        self.on_hand = self.on_hand.astype(np.int64)
        self.quar = np.zeros(m.n_il, dtype=np.int64)
        self.in_transit = np.zeros(m.n_il, dtype=np.int64)
        self.on_order = np.zeros(m.n_il, dtype=np.int64)
        self.events: dict[int, list[tuple[int, np.ndarray, np.ndarray]]] = defaultdict(list)
        self.open_po = {k: np.zeros(0, dtype=np.int64) for k in ("il", "expected", "close")}
        self._next_rcpt: tuple[int, np.ndarray] | None = None
        self.counters: dict[str, int] = {
            "order": 1_000_001, "po": 400_001, "shipment": 5_000_001, "tms": 7_000_001,
            "receipt": 300_001, "invoice": 600_001, "rma": 80_001, "count": 1, "adjustment": 1,
            "transfer": 1,
        }  # fmt: skip
        self.order_lines = 0
        self.today = start_day - 1
        self.region_transit = np.array([r.transit for r in REGIONS])
        # pick capacity in lines per shipping day at demand factor 1
        weekly = m.base_orders * MEAN_LINES_PER_ORDER * sum(WEEKDAY_FACTOR)
        per_day = weekly / sum(SHIP_DAY_CAPACITY)
        self.capacity = np.array([s.capacity for s in SITES]) * per_day
        # bigger sites run more (smaller) waves: about 90 lines per wave, 16 at most
        self.waves = np.array(
            [
                min(16, max(s.waves, round(d / 90))) if s.waves else 0
                for s, d in zip(SITES, per_day, strict=True)
            ]
        )
        self.snapshots: list[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    # --- utilities -------------------------------------------------------------------
    def rng(self, stream: int, *key: int) -> np.random.Generator:
        """Generator for one (stream, key...) cell, independent of everything else."""
        return np.random.default_rng([self.seed, stream, *[int(k) for k in key]])

    def next_ids(self, name: str, k: int) -> np.ndarray:
        """k consecutive numbers from counter `name`."""
        start = self.counters[name]
        self.counters[name] = start + k
        return np.arange(start, start + k, dtype=np.int64)

    def schedule(self, kind: int, day: np.ndarray, il: np.ndarray, qty: np.ndarray) -> None:
        """Queue stock changes (0 on hand, 1 quarantined, 2 in transit, 3 on order) by day."""
        keep = (day < self.as_of_day) & (qty != 0)
        day, il, qty = day[keep], il[keep], qty[keep]
        now = day <= self.today  # already due: apply at once
        if now.any():
            target = (self.on_hand, self.quar, self.in_transit, self.on_order)[kind]
            np.add.at(target, il[now], qty[now])
            day, il, qty = day[~now], il[~now], qty[~now]
        if not day.size:
            return
        o = np.argsort(day, kind="stable")
        day, il, qty = day[o], il[o], qty[o]
        cuts = np.flatnonzero(np.diff(day)) + 1
        for d, i, q in zip(
            np.split(day, cuts), np.split(il, cuts), np.split(qty, cuts), strict=True
        ):
            self.events[int(d[0])].append((kind, i, q))

    def alloc_by_il(self) -> np.ndarray:
        p = self.pool.a
        return np.bincount(p["il"], weights=p["alloc"], minlength=self.m.n_il).astype(np.int64)

    def next_receipt(self, day: int) -> np.ndarray:
        """Expected day of the next inbound receipt per item-location (what the ERP believes)."""
        if self._next_rcpt is not None and self._next_rcpt[0] == day:
            return self._next_rcpt[1]
        op = self.open_po
        keep = op["close"] > day
        for k in op:
            op[k] = op[k][keep]
        m = self.m
        nr = day + m.lead[m.il_item] + 1
        np.minimum.at(nr, op["il"], np.maximum(op["expected"], day + 2))
        self._next_rcpt = (day, nr)
        return nr

    # --- the day ---------------------------------------------------------------------
    def run_day(self, day: int) -> None:
        """Simulate one day (on as_of only the orders placed before the extract cutoff)."""
        self.today = day
        for kind, il, qty in self.events.pop(day, []):
            target = (self.on_hand, self.quar, self.in_transit, self.on_order)[kind]
            np.add.at(target, il, qty)
        if day == self.start_day or self.clock.month(day) != self.clock.month(day - 1):
            inbound.service_invoices(self, day)
        if day == self.as_of_day:
            orders.new_orders(self, day)
            return
        self.cancel(day)
        orders.new_orders(self, day)
        if dow(day) < 5:
            self.release_and_ship(day)
            inbound.replenish(self, day)
            warehouse.count_and_adjust(self, day)
            warehouse.transfers(self, day)
        allocated = self.alloc_by_il()
        # invariant: nothing is promised or quarantined beyond what is on hand
        assert (self.on_hand - allocated - self.quar >= 0).all()
        self.snapshots.append(
            (day, self.on_hand.copy(), allocated, self.quar.copy(), self.in_transit.copy())
        )

    def release_and_ship(self, day: int) -> None:
        """Allocate stock to due lines by priority, pick within capacity, ship, backorder the rest."""
        p = self.pool.a
        rng = self.rng(S_OPS, day)
        mid = self.clock.midnight(p["loc"], day)
        avail = self.on_hand - self.alloc_by_il() - self.quar
        due = np.flatnonzero((p["ps"] <= day) & (p["rem"] > p["alloc"]))
        if due.size:
            o = due[np.lexsort((p["prio"][due], p["il"][due]))]
            il = p["il"][o]
            need = p["rem"][o] - p["alloc"][o]
            c = group_cumsum(il, need)
            left = avail[il] - (c - need)
            full = c <= avail[il]
            partial = ~full & (left > 0) & (p["partial_ok"][o] == 1) & (p["n_ship"][o] < 2)
            give = np.where(full, need, np.where(partial, left, 0))
            p["alloc"][o] += give
            got = o[give > 0]
            p["status"][got] = RELEASED
            p["chg_ts"][got] = np.maximum(p["chg_ts"][got], mid[got] + 5 * HOUR)

        # pick within each site's daily capacity, most urgent (and highest tier) first
        elig = np.flatnonzero(p["alloc"] > 0)
        n_sites = len(SITES)
        cap = self.capacity * self.m.demand_factor(day, self.as_of_day) / WEEKDAY_FACTOR[dow(day)]
        cap = cap * SHIP_DAY_CAPACITY[dow(day)] * rng.uniform(0.93, 1.07, n_sites)
        cap = np.maximum(cap, 1.0)
        load = np.bincount(p["loc"][elig], minlength=n_sites) / cap  # pick workload
        cap = cap * np.where(load > 1.3, 1.1, 1.0)  # overtime when the backlog piles up
        if elig.size:
            o = elig[np.lexsort((p["prio"][elig], p["loc"][elig]))]
            picked = o[cumcount(p["loc"][o]) < cap[p["loc"][o]]]
            self._ship(day, picked, load)

        # due lines still short of stock are backordered; many get a new promise
        p = self.pool.a
        mid = self.clock.midnight(p["loc"], day)
        short = np.flatnonzero((p["ps"] <= day) & (p["rem"] > p["alloc"]))
        if not short.size:
            return
        new_bo = short[p["status"][short] != BACKORDERED]
        p["status"][new_bo] = BACKORDERED
        p["chg_ts"][new_bo] = np.maximum(p["chg_ts"][new_bo], mid[new_bo] + 6 * HOUR)
        earliest = add_work_days(np.full(short.size, day + 1), p["transit"][short])
        at_risk = short[p["promised"][short] < earliest]
        u = rng.random(at_risk.size)
        go = at_risk[u < np.where(p["repromised"][at_risk] == 0, 0.7, 0.2)]
        if go.size:
            nr = self.next_receipt(day)[p["il"][go]]
            base = np.maximum(nr + 1, day + 1)
            new = add_work_days(base, p["transit"][go])
            new = np.maximum(new, p["promised"][go] + 1)
            p["promised"][go] = next_work_day(new)
            p["repromised"][go] = 1
            when = mid[go] + rng.integers(9 * HOUR, 17 * HOUR, go.size)
            p["chg_ts"][go] = np.maximum(p["chg_ts"][go], when)

    def _ship(self, day: int, picked: np.ndarray, load: np.ndarray) -> None:
        p = self.pool.a
        ship_ts, deliv_ts = outbound.ship(self, day, picked, load)
        q = p["alloc"][picked]
        np.subtract.at(self.on_hand, p["il"][picked], q)
        p["rem"][picked] -= q
        p["alloc"][picked] = 0
        p["n_ship"][picked] += 1
        p["last_ship"][picked] = ship_ts
        p["last_del"][picked] = np.maximum(p["last_del"][picked], deliv_ts)
        p["chg_ts"][picked] = ship_ts
        rest = picked[p["rem"][picked] > 0]
        p["status"][rest] = BACKORDERED
        done = picked[p["rem"][picked] == 0]
        if done.size:
            rng = self.rng(S_OPS, day, 1)
            closed_at = p["last_del"][done] + rng.integers(HOUR, 8 * HOUR, done.size)
            closed = (p["last_del"][done] != NEVER) & (closed_at < self.cutoff)
            shipped_at = p["last_ship"][done] + rng.integers(2 * MINUTE, 30 * MINUTE, done.size)
            status = np.where(closed, CLOSED, SHIPPED)
            self.emit(done, status, np.where(closed, closed_at, shipped_at))
            self.pool.drop(done)

    def cancel(self, day: int) -> None:
        """Customer cancellations: planned ones, and long-overdue backorders."""
        p = self.pool.a
        if not len(self.pool):
            return
        rng = self.rng(S_OPS, day, 2)
        u = rng.random(len(self.pool))
        overdue = (p["status"] == BACKORDERED) & (day - p["promised"] > 3) & (u < 0.04)
        go = np.flatnonzero(((p["cancel_day"] <= day) | overdue) & (p["alloc"] == 0))
        if not go.size:
            return
        when = self.clock.midnight(p["loc"][go], day) + rng.integers(8 * HOUR, 17 * HOUR, go.size)
        when = np.maximum(when, p["chg_ts"][go] + MINUTE)
        # a line that already shipped in part is short-closed, not cancelled
        self.emit(go, np.where(p["n_ship"][go] > 0, CLOSED, CANCELLED), when)
        self.pool.drop(go)

    def emit(self, idx: np.ndarray, status: np.ndarray, upd: np.ndarray) -> None:
        """Queue the newer version of order lines for the updates file."""
        p = self.pool.a
        cols = {c: p[c][idx] for c in LINE_COLUMNS}
        upd = np.maximum(upd, p["upd0"][idx] + MINUTE)
        self.buf.add("sales_order_lines_updates", **cols, status=status, upd=upd)

    def finish_open_lines(self) -> None:
        """Versions of still-open lines whose state changed (released, backordered, re-promised)."""
        p = self.pool.a
        status = np.where(
            p["alloc"] > 0,
            RELEASED,
            np.where((p["status"] == BACKORDERED) | (p["n_ship"] > 0), BACKORDERED, OPEN),
        )
        idx = np.flatnonzero((status != OPEN) | (p["repromised"] == 1))
        self.emit(idx, status[idx], np.minimum(p["chg_ts"][idx], self.cutoff - MINUTE))
