"""Deterministic demo data: a believable wholesale distributor's ERP, WMS and TMS extracts.

`generate(out, seed=..., scale=..., as_of=...)` simulates the business day by day
and writes canonical extract files (see the extract contract) into `out/erp`,
`out/wms` and `out/tms`, so `out` can serve as an inbox. The same (seed, scale,
as_of) always gives byte-identical files.

The business
------------
Two legal entities: US01 with DC-CHI, DC-NJ (wave picking) and DC-RNO (ships order
by order against carrier cutoffs, no waves), and NL01 with DC-RTM. Items have
categories, ABC classes (A = top 20% of items by volume, ~80% of it), case packs,
cost, price and one supplier each; not every item is stocked everywhere. Customers
have segments, priority tiers 1-3, regions served by one site, and a main channel.

Each day: orders arrive (Monday/Tuesday peaks, quiet weekends, mild trend and
season) and get a first promise; due lines are allocated stock by priority, picked
within each site's capacity (in waves at wave sites), shipped, handed to a carrier
(one TMS freight shipment per WMS shipment) and tracked to delivery; lines short of
stock are backordered, often re-promised, sometimes cancelled; item-locations whose
inventory position falls below the reorder point get purchase orders; receipts,
put-away, damage, cycle counts and adjustments move stock. Daily snapshots record
on hand, allocated, quarantined and in-transit stock per stocked item-location.
Sales lines are written as first versions (by order month) plus an updates file
with the newest version of every line whose state changed.

Learnable causes (what a risk model can find, with noise on top)
----------------------------------------------------------------
Stockouts (available = on hand - allocated - quarantined <= 0):
- supplier reliability: each supplier is reliable, fair or unreliable; unreliable
  ones deliver days to weeks after `expected_date` (visible in receipts against
  PO lines), while reorder points assume the quoted lead time;
- lumpy demand: some items get occasional bulk lines (6-20x the usual quantity)
  that the planner's safety stock ignores;
- low cover: ~18% of item-locations are under-buffered (low safety factor), visible
  as low days of cover in the snapshots.
Late lines (delivered after the first promised date):
- congestion: DC-NJ's pick capacity barely covers its average load, so Monday and
  Tuesday peaks spill into backlog, late waves and missed carrier pickups;
- carriers: Midwest Motor Lines (LTL) and SwiftPak (parcel) slip often and miss
  pickups; customers mostly route to the same carrier, so it is predictable;
- stock: lines without available stock at order time wait for the next receipt,
  and optimistic promises (EDI auto-confirm, sales promising anyway) are missed;
- customer tier x tight promise: some promises are tighter than the standard lead
  time; tier 1 lines get picked first and are expedited when at risk, tier 3 rarely.
Also: wrong-item returns rise at congested sites, damaged returns with poor
carriers, late-reason returns after late deliveries; cycle-count errors are more
frequent at DC-NJ; put-away is slower there.

Units: quantities are in the row's uom (orders and purchase orders: EA or CS; shipments
may ship a case line in eaches); tables without a uom (receipts, counts, adjustments,
returns, invoices, snapshots) are in eaches. Prices and costs are per each whatever the
row's uom. Timestamps: ERP with the location's local offset, WMS naive local time,
TMS UTC `Z`. Amounts: US01 rows in dollars, NL01 (DC-RTM) rows in euros at the day's
EUR->USD rate (`fx_rates`, weekdays); the item master's cost and price in dollars, the
reporting currency (see `currency.py`).
The extract is taken at 10:00 UTC on as_of: history runs to the day before, and
as_of itself only has the orders placed before the cutoff (open).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from control_tower.demo import currency, finance, formats
from control_tower.demo.clock import Clock, day_number, month_label, to_date
from control_tower.demo.config import S_FX, S_MASTER, SCALES, SITES, Scale
from control_tower.demo.engine import Engine
from control_tower.demo.master import build_master
from control_tower.demo.sink import Sink
from control_tower.settings import clock

__all__ = ["SCALES", "GenerateReport", "Scale", "generate"]


@dataclass
class GenerateReport:
    """What `generate` wrote."""

    files: list[tuple[Path, int]]  # (path, rows) per file
    order_lines: int  # order lines (first versions) generated
    as_of: dt.date
    seed: int
    scale: str
    elapsed_seconds: float

    @property
    def rows(self) -> int:
        """Rows over all files."""
        return sum(n for _, n in self.files)


def default_as_of(now: dt.datetime | None = None) -> dt.date:
    """Today (UTC) once the day's 10:00 UTC extract has happened, else yesterday.

    The demo extract is taken at 10:00 UTC on as_of, so this default never
    writes rows stamped in the future.
    """
    now = now or clock()
    return now.date() if now.hour >= 10 else now.date() - dt.timedelta(days=1)


def generate(
    out: Path,
    *,
    seed: int = 7,
    scale: str | Scale = "small",
    as_of: dt.date | None = None,
    progress: Callable[[str], None] | None = None,
) -> GenerateReport:
    """Generate demo extracts into `out/erp`, `out/wms`, `out/tms`.

    `scale` names an entry of `SCALES` (or is a `Scale`); `as_of` (default: today,
    UTC) is the extract date: history ends the day before. Files are staged and only
    moved into place at the end; files of the same name are replaced.
    """
    started = time.perf_counter()
    sc = SCALES[scale] if isinstance(scale, str) else scale
    if as_of is None:
        as_of = default_as_of()
    as_of_day = day_number(as_of)
    start_day = as_of_day - sc.days
    out = Path(out)
    say = progress or (lambda _msg: None)
    clock = Clock([s.timezone for s in SITES], start_day - 120, as_of_day + 500)
    master = build_master(
        np.random.default_rng([seed, S_MASTER, 0]), sc, clock, start_day, as_of_day
    )
    sink = Sink(out)
    try:
        for name, frame in master.frames.items():
            sink.write(name, frame)
        eng = Engine(seed, sc, master, clock, start_day, as_of_day)
        sink.write("entities", currency.entities_frame(clock, start_day))
        suppliers = currency.suppliers_frame(
            np.random.default_rng([seed, S_FX, 1]), master, clock, start_day
        )
        sink.write("suppliers", suppliers)
        sink.write("fx_rates", currency.fx_rates_frame(eng.fx, clock))
        say(
            f"{sc.name}: {master.n_items} items, {master.n_cust} customers, "
            f"{master.n_il} item-locations, {to_date(start_day)} .. {to_date(as_of_day - 1)}"
        )
        for day in range(start_day, as_of_day + 1):
            eng.run_day(day)
            month = clock.month(np.array([day]))[0]
            if day == as_of_day or clock.month(np.array([day + 1]))[0] != month:
                if day == as_of_day:
                    eng.finish_open_lines()
                    finance.close_tasks(eng)
                formats.flush(eng, sink)
                say(
                    f"{month_label(int(month))}: {eng.order_lines:,} order lines so far "
                    f"({time.perf_counter() - started:.1f} s)"
                )
        files = sink.publish()
    except BaseException:
        sink.discard()
        raise
    return GenerateReport(
        files=files,
        order_lines=eng.order_lines,
        as_of=as_of,
        seed=seed,
        scale=sc.name,
        elapsed_seconds=time.perf_counter() - started,
    )
