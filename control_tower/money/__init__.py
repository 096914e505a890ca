"""Money: entity currencies and exchange rates, and the SQL that converts amounts with them.

The `money` post-load step (`fx.refresh_money`) rebuilds the warehouse schema `money` from the
landed `entities`, `suppliers` and `fx_rates`: each entity's functional currency, the rate of
every day and the month averages between each currency and the reporting currency, and the days
without a usable rate (raised as `missing_fx_rate` items). Readers convert amounts in SQL with
the snippets of `sql`. The rules are in docs/currency.md.
"""

from __future__ import annotations

from control_tower.money.fx import FALLBACK_DAYS, HISTORY_DAYS, MoneyReport, refresh_money

__all__ = ["FALLBACK_DAYS", "HISTORY_DAYS", "MoneyReport", "refresh_money"]
