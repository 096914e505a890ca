"""The demo's two currencies: legal entities, the supplier master and daily EUR->USD rates.

US01 keeps its books in US dollars, NL01 (DC-RTM) in euros. The simulation prices
everything in dollars, the reporting currency: the item master's cost and list price
stay in dollars, and every amount on an NL01 row (order line price, purchase order and
invoice cost, freight cost) is converted to euros at the rate of the day it is made,
rounded to cents. Rates are published like a central bank's reference rates: every
weekday (none on weekends), four decimals, a mean-reverting random walk around 1.08,
up to the day before the extract (the day's rate is published in the afternoon, after
the 10:00 UTC extract). The rate of a weekend day is Friday's, as the product reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from control_tower.demo.clock import HOUR, Clock, date_column, dow, labels, ts_column
from control_tower.demo.config import (
    ENTITIES,
    ENTITY_CURRENCY,
    ENTITY_NAMES,
    ENTITY_SITE,
    SITES,
)
from control_tower.demo.inbound import N_SERVICE_SUPPLIERS
from control_tower.demo.master import NAME_A, NAME_B, SUFFIX_EU, SUFFIX_US

if TYPE_CHECKING:
    from control_tower.demo.master import Master

RATE_MEAN = 1.08  # EUR->USD level the walk reverts to
RATE_DAILY_SD = 0.0045  # daily log change, about the volatility of EUR/USD
RATE_REVERSION = 0.99  # share of yesterday's deviation kept today
RATE_DECIMALS = 4
# a site's amounts are in euros when its entity's functional currency is EUR
SITE_IN_EUR = np.array([ENTITY_CURRENCY[ENTITIES.index(s.entity_id)] == "EUR" for s in SITES])

# countries of the supplier name suffixes (SUFFIX_EU order) and of importers from Asia
EU_COUNTRY = ("NL", "DE", "BE", "FR", "SE")
ASIA = (
    ("CN", "Trading Co., Ltd."),
    ("TW", "Corporation"),
    ("VN", "JSC"),
    ("IN", "Pvt. Ltd."),
    ("CN", "Co., Ltd."),
)
US, EU, ASIA_ORIGIN = range(3)
PAYMENT_TERMS = np.array([30, 45, 60])
TERMS_P = ((0.55, 0.30, 0.15), (0.20, 0.30, 0.50), (0.30, 0.30, 0.40))  # by origin
SERVICE_KINDS = (
    "Property Management",
    "Utilities",
    "Facility Services",
    "IT Services",
    "Security Services",
    "Waste Services",
    "Staffing",
    "Equipment Rental",
)


@dataclass(frozen=True)
class FxRates:
    """EUR->USD reference rates: the published weekdays and the rate of every day."""

    first_day: int
    published: np.ndarray  # day numbers with a published rate (weekdays)
    rates: np.ndarray  # the published rates, rounded to RATE_DECIMALS
    of_day: np.ndarray  # rate of the day, first_day .. last_day: the latest published one

    @classmethod
    def draw(cls, rng: np.random.Generator, first_day: int, last_published: int) -> FxRates:
        """A seeded walk published on every weekday from first_day to last_published.

        Days after last_published (the extract day, future-dated rows) take the last rate.
        """
        days = np.arange(first_day, last_published + 1)
        published = days[dow(days) < 5]
        n = published.size
        # AR(1) in log space, vectorised: x_t = sum_k phi^(t-k) eps_k
        phi = RATE_REVERSION
        eps = rng.normal(0.0, RATE_DAILY_SD, n)
        eps[0] = rng.normal(0.0, RATE_DAILY_SD / np.sqrt(1 - phi**2))
        t = np.arange(n)
        x = phi**t * np.cumsum(eps * phi ** (-t.astype(np.float64)))
        rates = np.round(RATE_MEAN * np.exp(x), RATE_DECIMALS)
        all_days = np.arange(first_day, last_published + 60)
        idx = np.searchsorted(published, all_days, side="right") - 1
        of_day = rates[np.maximum(idx, 0)]
        return cls(first_day, published, rates, of_day)

    def rate(self, day: np.ndarray | int) -> np.ndarray:
        """EUR->USD rate of the day (the latest published on or before it)."""
        i = np.clip(np.asarray(day) - self.first_day, 0, self.of_day.size - 1)
        return self.of_day[i]

    def local_cents(
        self, usd_cents: np.ndarray, loc: np.ndarray | int, day: np.ndarray | int
    ) -> np.ndarray:
        """Dollar amounts (in cents, may be fractional) in the site's currency, whole cents.

        Negative amounts (the generator's "no value") pass through unchanged.
        """
        usd = np.asarray(usd_cents, dtype=np.float64)
        eur = SITE_IN_EUR[np.asarray(loc)]
        local = np.where(eur, usd / self.rate(day), usd)
        return np.where(usd < 0, usd, np.floor(local + 0.5)).astype(np.int64)


def rate_column(rates: np.ndarray) -> pl.Series:
    """Rates as decimal strings with RATE_DECIMALS places ('1.0823')."""
    scale = 10**RATE_DECIMALS
    units = pl.Series(np.round(np.asarray(rates) * scale).astype(np.int64))
    frame = pl.DataFrame({"u": units})
    u = pl.col("u")
    text = pl.format("{}.{}", u // scale, (u % scale).cast(pl.String).str.zfill(RATE_DECIMALS))
    return frame.select(text).to_series()


def entities_frame(clock: Clock, start_day: int) -> pl.DataFrame:
    """One row per legal entity with its functional currency."""
    site = np.array(ENTITY_SITE)
    t = clock.midnight(site, np.full(site.size, start_day - 100)) + 9 * HOUR
    return pl.DataFrame(
        {
            "entity_id": list(ENTITIES),
            "name": list(ENTITY_NAMES),
            "currency": list(ENTITY_CURRENCY),
            "updated_at": ts_column(clock, t, site, "erp"),
        }
    )


def fx_rates_frame(fx: FxRates, clock: Clock) -> pl.DataFrame:
    """The published rates, each stamped at 16:00 Amsterdam time on its day."""
    days = fx.published
    site = np.full(days.size, ENTITY_SITE[ENTITY_CURRENCY.index("EUR")])
    return pl.DataFrame(
        {
            "rate_date": date_column(days),
            "from_currency": pl.Series(["EUR"] * days.size, dtype=pl.String),
            "to_currency": pl.Series(["USD"] * days.size, dtype=pl.String),
            "rate": rate_column(fx.rates),
            "updated_at": ts_column(clock, clock.midnight(site, days) + 16 * HOUR, site, "erp"),
        }
    )


def suppliers_frame(
    rng: np.random.Generator, m: Master, clock: Clock, start_day: int
) -> pl.DataFrame:
    """Every supplier the items, purchase orders and invoices name: origin, currency, terms.

    Domestic suppliers (short transit) are American and bill in dollars; importers are
    European (euros) or Asian (dollars); at least one supplier is European. Non-PO
    service suppliers bill their entity in its currency.
    """
    n_sup = m.sup_ids.len()
    imported = m.sup_transit >= 14
    origin = np.where(imported, np.where(rng.random(n_sup) < 0.5, EU, ASIA_ORIGIN), US)
    if not (origin == EU).any():
        origin[np.argmax(imported) if imported.any() else 0] = EU
    half = N_SERVICE_SUPPLIERS // 2
    svc_origin = np.repeat([US, EU], [half, N_SERVICE_SUPPLIERS - half])
    n = n_sup + N_SERVICE_SUPPLIERS
    origin_all = np.concatenate((origin, svc_origin))
    # distinct (first word, second word, suffix) per supplier
    combo = rng.choice(len(NAME_A) * len(NAME_B) * 5, size=n, replace=False)
    a, b, s = combo // (len(NAME_B) * 5), (combo // 5) % len(NAME_B), combo % 5
    suffix = np.select(
        [origin_all == US, origin_all == EU],
        [np.array(SUFFIX_US)[s], np.array(SUFFIX_EU)[s]],
        np.array([x[1] for x in ASIA])[s],
    )
    second = np.array(NAME_B, dtype=object)[b]
    # service suppliers: a distinct first word per entity, and what they provide
    k = np.arange(N_SERVICE_SUPPLIERS) % half
    a[n_sup:] = rng.permutation(len(NAME_A))[k % len(NAME_A)]
    second[n_sup:] = np.array(SERVICE_KINDS, dtype=object)[k % len(SERVICE_KINDS)]
    country = np.select(
        [origin_all == US, origin_all == EU],
        [np.full(n, "US"), np.array(EU_COUNTRY)[s]],
        np.array([x[0] for x in ASIA])[s],
    )
    country[n_sup + half :] = "NL"  # the Rotterdam site's local service suppliers
    suffix[n_sup + half :] = "B.V."
    names = pl.select(
        pl.format(
            "{} {} {}", labels(NAME_A, a), pl.Series(second.tolist()), pl.Series(suffix.tolist())
        )
    ).to_series()
    u = rng.random(n)
    terms_cdf = np.cumsum(np.array(TERMS_P), axis=1)[origin_all]
    terms = PAYMENT_TERMS[np.minimum((u[:, None] > terms_cdf).sum(axis=1), 2)]
    terms[n_sup:] = 30
    site = np.where(origin_all == EU, ENTITY_SITE[1], ENTITY_SITE[0])
    day = start_day - rng.integers(1, 120, n)
    t = clock.midnight(site, day) + rng.integers(7 * HOUR, 19 * HOUR, n)
    svc = pl.Series([f"SVC{k + 1:03d}" for k in range(N_SERVICE_SUPPLIERS)], dtype=pl.String)
    return pl.DataFrame(
        {
            "supplier_id": pl.concat([m.sup_ids, svc]),
            "name": names,
            "country": pl.Series(country.tolist(), dtype=pl.String),
            "currency": labels(("USD", "EUR", "USD"), origin_all),
            "payment_terms_days": terms,
            "updated_at": ts_column(clock, t, site, "erp"),
        }
    )
