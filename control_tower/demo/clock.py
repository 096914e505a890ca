"""Days, time zones and timestamps for the generator (all vectorised over numpy arrays).

Internally every instant is an int64 count of seconds since the Unix epoch (UTC) and
every calendar day an int day number since 1970-01-01. `Clock` holds per-site UTC
offsets for every UTC hour of the simulated range (taken from zoneinfo, so DST is
exact) and each site's local midnight per day.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

DAY = 86_400
HOUR = 3_600
MINUTE = 60
NEVER = np.iinfo(np.int64).max  # "has not happened (before the extract cutoff)"
EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


def day_number(d: dt.date) -> int:
    """Day number (days since 1970-01-01) of a date."""
    return d.toordinal() - EPOCH_ORDINAL


def to_date(day: int) -> dt.date:
    """Date of a day number."""
    return dt.date.fromordinal(int(day) + EPOCH_ORDINAL)


def dow(day: np.ndarray | int) -> np.ndarray | int:
    """Weekday of day numbers, Monday = 0 .. Sunday = 6."""
    return (day + 3) % 7


def next_work_day(day: np.ndarray) -> np.ndarray:
    """The day itself, or the next Monday when it falls on a weekend."""
    w = dow(day)
    return day + np.where(w == 5, 2, np.where(w == 6, 1, 0))


def add_work_days(day: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Add n business days (Monday to Friday) to each day."""
    day = np.array(day, dtype=np.int64, copy=True)
    n = np.array(n, dtype=np.int64, copy=True)
    for _ in range(int(n.max(initial=0))):
        m = n > 0
        day[m] += 1
        day[m] = next_work_day(day[m])
        n[m] -= 1
    return day


def sub_work_days(day: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Go back n business days (Monday to Friday) from each day (a weekend day counts from Friday)."""
    day = np.array(day, dtype=np.int64, copy=True)
    day -= np.maximum(0, dow(day) - 4)
    n = np.array(n, dtype=np.int64, copy=True)
    for _ in range(int(n.max(initial=0))):
        m = n > 0
        day[m] -= 1
        day[m] -= np.maximum(0, dow(day[m]) - 4)
        n[m] -= 1
    return day


def _offset(zone: ZoneInfo, t: int) -> int:
    off = dt.datetime.fromtimestamp(t, zone).utcoffset()
    assert off is not None
    return int(off.total_seconds())


class Clock:
    """UTC offsets and local midnights of each site over a range of days."""

    def __init__(self, zones: list[str], first_day: int, last_day: int) -> None:
        self.first_day = first_day
        self.n_days = last_day - first_day + 1
        self.base = first_day * DAY
        self.off = np.zeros((len(zones), self.n_days * 24), dtype=np.int64)
        self.mid = np.zeros((len(zones), self.n_days), dtype=np.int64)
        for z, name in enumerate(zones):
            zone = ZoneInfo(name)
            for k in range(self.n_days):
                t0 = (first_day + k) * DAY
                o0, o1 = _offset(zone, t0), _offset(zone, t0 + 23 * HOUR)
                if o0 == o1:
                    self.off[z, k * 24 : (k + 1) * 24] = o0
                else:
                    for h in range(24):
                        self.off[z, k * 24 + h] = _offset(zone, t0 + h * HOUR)
                d = to_date(first_day + k)
                self.mid[z, k] = int(dt.datetime(d.year, d.month, d.day, tzinfo=zone).timestamp())
        days = np.arange(first_day, last_day + 1)
        dates = days.astype("datetime64[D]")
        years = dates.astype("datetime64[Y]").astype(np.int64) + 1970
        months = dates.astype("datetime64[M]").astype(np.int64) % 12
        self._month = years * 12 + months  # month code: year * 12 + (month - 1)

    def offset(self, loc: np.ndarray, t: np.ndarray) -> np.ndarray:
        """UTC offset in seconds at site `loc` at instant `t`."""
        h = np.clip((np.asarray(t) - self.base) // HOUR, 0, self.off.shape[1] - 1)
        return self.off[loc, h]

    def midnight(self, loc: np.ndarray | int, day: np.ndarray | int) -> np.ndarray:
        """Instant of local midnight at site `loc` on `day`."""
        return self.mid[loc, np.asarray(day) - self.first_day]

    def local_day(self, loc: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Local calendar day of instant `t` at site `loc`."""
        return (t + self.offset(loc, t)) // DAY

    def local_sod(self, loc: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Local seconds of day of instant `t` at site `loc`."""
        return (t + self.offset(loc, t)) % DAY

    def unambiguous(self, loc: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Move instants in the repeated hour after a DST fall-back one hour later.

        A naive local timestamp in that hour would be read as its first occurrence,
        so WMS timestamps (written without offset) avoid the second one.
        """
        t = np.asarray(t)
        valid = t != NEVER
        tv = np.where(valid, t, self.base)
        second = (self.offset(loc, tv - HOUR) - self.offset(loc, tv)) == HOUR
        return np.where(valid & second, t + HOUR, t)

    def month(self, day: np.ndarray) -> np.ndarray:
        """Month code (year * 12 + month - 1) of day numbers."""
        return self._month[np.clip(np.asarray(day) - self.first_day, 0, self._month.size - 1)]

    def in_work_hours(
        self, loc: np.ndarray, t: np.ndarray, jitter: np.ndarray, start_h: float = 6.0
    ) -> np.ndarray:
        """Move instants outside local working hours (start_h to 23:00) to the next morning.

        A moved instant lands at start_h plus `jitter` seconds (keep jitter under 12 h).
        """
        sod = self.local_sod(loc, t)
        start = int(start_h * HOUR)
        early = sod < start
        late = sod >= 23 * HOUR
        t = np.where(early, t - sod + start + jitter, t)
        return np.where(late, t - sod + DAY + start + jitter, t)


def month_label(code: int) -> str:
    """'YYYY-MM' of a month code."""
    return f"{code // 12:04d}-{code % 12 + 1:02d}"


# --- formatting (numpy -> polars string columns) -------------------------------------


def ts_column(clock: Clock, t: np.ndarray, loc: np.ndarray | None, style: str) -> pl.Series:
    """Timestamps as ISO strings: 'erp' local with offset, 'wms' local naive, 'tms' UTC 'Z'."""
    t = np.asarray(t, dtype=np.int64)
    if style == "wms":
        assert loc is not None
        t = clock.unambiguous(loc, t)
    valid = t != NEVER
    tv = np.where(valid, t, 0)
    if style == "tms":
        frame = pl.DataFrame({"t": tv, "v": valid})
        text = pl.from_epoch(pl.col("t"), time_unit="s").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    else:
        assert loc is not None
        off = clock.offset(loc, tv)
        frame = pl.DataFrame({"t": tv + off, "o": off, "v": valid})
        text = pl.from_epoch(pl.col("t"), time_unit="s").dt.strftime("%Y-%m-%dT%H:%M:%S")
        if style == "erp":
            o = pl.col("o")
            sign = pl.when(o < 0).then(pl.lit("-")).otherwise(pl.lit("+"))
            hh = (o.abs() // HOUR).cast(pl.String).str.zfill(2)
            mm = ((o.abs() % HOUR) // MINUTE).cast(pl.String).str.zfill(2)
            text = pl.concat_str([text, sign, hh, pl.lit(":"), mm])
    return frame.select(pl.when(pl.col("v")).then(text).otherwise(None)).to_series()


def date_column(day: np.ndarray) -> pl.Series:
    """Day numbers as a Date column (written as YYYY-MM-DD)."""
    return pl.Series(np.asarray(day, dtype=np.int32)).cast(pl.Date)


def money_column(cents: np.ndarray) -> pl.Series:
    """Non-negative amounts in cents as decimal strings with two places ('12.05')."""
    frame = pl.DataFrame({"c": np.asarray(cents, dtype=np.int64)})
    c = pl.col("c")
    expr = pl.format("{}.{}", c // 100, (c % 100).cast(pl.String).str.zfill(2))
    return frame.select(pl.when(c >= 0).then(expr).otherwise(None)).to_series()


def id_column(prefix: str, n: np.ndarray, width: int = 0) -> pl.Series:
    """Identifiers `prefix` + number (zero-padded to `width`); negative numbers give null."""
    frame = pl.DataFrame({"n": np.asarray(n, dtype=np.int64)})
    num = pl.col("n").cast(pl.String)
    if width:
        num = num.str.zfill(width)
    expr = pl.concat_str([pl.lit(prefix), num])
    return frame.select(pl.when(pl.col("n") >= 0).then(expr).otherwise(None)).to_series()


def labels(values: tuple[str, ...] | list[str] | pl.Series, codes: np.ndarray) -> pl.Series:
    """Strings by code (a code of -1 gives null)."""
    series = values if isinstance(values, pl.Series) else pl.Series(list(values), dtype=pl.String)
    codes = np.asarray(codes, dtype=np.int64)
    out = series.gather(np.where(codes < 0, 0, codes))
    if (codes < 0).any():
        out = pl.select(pl.when(pl.Series(codes >= 0)).then(out).otherwise(None)).to_series()
    return out
