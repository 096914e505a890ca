"""Month-end close checklist per entity and period, with fast and slow closes and overdue tasks."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from control_tower.demo.clock import HOUR, NEVER, dow
from control_tower.demo.config import CLOSE_TASKS, ENTITY_SITE, S_FIN

if TYPE_CHECKING:
    from control_tower.demo.engine import Engine


def _shift_work_days(day: int, n: int) -> int:
    """The business day n business days after (n < 0: before) `day`; n = 0 gives `day` itself."""
    step = 1 if n >= 0 else -1
    while n != 0:
        day += step
        if dow(day) < 5:
            n -= step
    while dow(day) >= 5:
        day += 1
    return day


def close_tasks(eng: Engine) -> None:
    """Queue close tasks for every entity and month from the first history month to as_of's."""
    clock = eng.clock
    rng = eng.rng(S_FIN, 0)
    days = np.arange(eng.start_day, eng.as_of_day + 1)
    months = np.unique(clock.month(days))
    rows: dict[str, list[int]] = {
        k: [] for k in ("entity", "period", "task", "due", "done", "status", "upd")
    }
    all_days = np.arange(eng.start_day - 40, eng.as_of_day + 80)
    all_months = clock.month(all_days)
    for mc in months:
        in_month = all_days[all_months == mc]
        first, end = int(in_month[0]), int(in_month[-1])
        for e in (0, 1):
            site = ENTITY_SITE[e]
            speed = float(rng.choice([-1.0, 0.0, 0.0, 0.5, 1.0, 3.0])) + rng.normal(0, 0.4)
            created = int(clock.midnight(site, first - 5)) + 9 * HOUR
            for t, (_, _, _, _, offset, entities) in enumerate(CLOSE_TASKS):
                if e not in entities:
                    continue
                due = _shift_work_days(end, offset)
                late = max(-3, round(rng.normal(speed, 1.2)))
                done_day = _shift_work_days(due, late)
                done = int(clock.midnight(site, done_day)) + int(rng.integers(9 * HOUR, 19 * HOUR))
                rows["entity"].append(e)
                rows["period"].append(int(mc))
                rows["task"].append(t)
                rows["due"].append(due)
                rows["done"].append(done)
                rows["upd"].append(created)
    b = {k: np.array(v, dtype=np.int64) for k, v in rows.items() if k != "status"}
    # the latest period with tasks already due has one or two stuck tasks per entity
    due_now = b["due"] < eng.as_of_day
    if due_now.any():
        latest = b["period"][due_now].max()
        for e in (0, 1):
            cands = np.flatnonzero(due_now & (b["period"] == latest) & (b["entity"] == e))
            stuck = rng.choice(cands, size=min(cands.size, int(rng.integers(1, 3))), replace=False)
            b["done"][stuck] = NEVER
    done = b["done"] < eng.cutoff
    b["done"] = np.where(done, b["done"], NEVER)
    b["status"] = done.astype(np.int64)
    b["upd"] = np.where(done, b["done"], b["upd"])
    eng.buf.add("close_tasks", **b)
