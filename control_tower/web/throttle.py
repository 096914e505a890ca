"""Rate limits of one web app: failed sign-ins, and uncached KPI computations per user.

Both keep their counts in memory, per app (`WebContext`), and read time from
an injected clock (seconds), so tests drive them without sleeping. A refused
request is answered at once with 429 and `Retry-After`; no worker thread ever
sleeps.

Sign-in (`SignInThrottle`), the rule:

- Every failed sign-in counts against the client address and against the
  account name tried. The first `free_failures` (3) cost nothing; after that
  each failure makes the next attempt wait `first_delay` (1 s), doubling with
  every further failure, up to `max_delay` (the lockout duration).
- An address that has failed waits for its own delay and for the delay of
  the account it tries. An address with no failure waits for nothing: someone
  trying passwords elsewhere cannot keep the account's owner out (the app
  database's lockout is passed over for such an address too; one wrong
  password makes it an address that has failed).
- A successful sign-in clears the address's and the account's counts; a
  count is forgotten once its delay has run out for another `max_delay`.
- While it must wait, an address gets 429 with no password checked, so a
  flood of sign-ins costs no password hashing.

KPI computations (`ComputeBudget`): a user may start at most `per_minute`
computations that no cache answers within any 60 seconds.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]


def _seconds(wait: float) -> str:
    n = math.ceil(wait)
    return f"{n} second" if n == 1 else f"{n} seconds"


MAX_ENTRIES = 10_000  # addresses and names remembered at most (oldest forgotten first)

__all__ = ["Clock", "ComputeBudget", "RateLimited", "SignInThrottle"]


class RateLimited(Exception):
    """A request over a limit: `retry_after` seconds to wait, and a message for the person."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = max(1, math.ceil(retry_after))


@dataclass
class _Failures:
    count: int
    last: float


class SignInThrottle:
    """Growing delays after failed sign-ins, per client address and per account (module doc)."""

    def __init__(
        self,
        *,
        max_delay: float,
        free_failures: int = 3,
        first_delay: float = 1.0,
        clock: Clock = time.time,
    ) -> None:
        self.max_delay = max_delay
        self.free_failures = free_failures
        self.first_delay = first_delay
        self.clock = clock
        self._clients: dict[str, _Failures] = {}
        self._accounts: dict[str, _Failures] = {}
        self._lock = threading.Lock()

    def delay(self, failures: int) -> float:
        """Seconds to wait after `failures` failures in a row."""
        if failures < self.free_failures:
            return 0.0
        return min(self.first_delay * 2 ** (failures - self.free_failures), self.max_delay)

    def _left(self, table: dict[str, _Failures], key: str, now: float) -> float:
        record = table.get(key)
        if record is None:
            return 0.0
        left = record.last + self.delay(record.count) - now
        if left < -self.max_delay:
            del table[key]  # long quiet: forgotten
            return 0.0
        return max(0.0, left)

    def has_failed(self, client: str) -> bool:
        """Whether this address has a failed sign-in on record."""
        with self._lock:
            self._left(self._clients, client, self.clock())
            return client in self._clients

    def retry_after(self, client: str, account: str) -> float:
        """Seconds before `client` may try to sign in as `account` (0: now)."""
        now = self.clock()
        with self._lock:
            wait = self._left(self._clients, client, now)
            if client in self._clients:
                wait = max(wait, self._left(self._accounts, account, now))
            return wait

    def check(self, client: str, account: str) -> None:
        """Raise RateLimited when `client` must wait before trying `account`."""
        wait = self.retry_after(client, account)
        if wait > 0:
            raise RateLimited(f"Too many failed sign-ins. Try again in {_seconds(wait)}.", wait)

    def failed(self, client: str, account: str) -> None:
        """Count a failed sign-in of `client` as `account`."""
        now = self.clock()
        with self._lock:
            for table, key in ((self._clients, client), (self._accounts, account)):
                record = table.pop(key, None) or _Failures(0, now)
                record.count += 1
                record.last = now
                table[key] = record  # re-inserted: the dict stays in order of last failure
                while len(table) > MAX_ENTRIES:
                    del table[next(iter(table))]

    def succeeded(self, client: str, account: str) -> None:
        """A sign-in of `client` as `account` succeeded: both counts start again."""
        with self._lock:
            self._clients.pop(client, None)
            self._accounts.pop(account, None)


class ComputeBudget:
    """At most `per_minute` uncached computations per user in any 60 seconds."""

    WINDOW = 60.0

    def __init__(self, per_minute: int, *, clock: Clock = time.time) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._started: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def take(self, user: str) -> None:
        """Count one computation started by `user`, or raise RateLimited when over budget."""
        now = self.clock()
        with self._lock:
            started = self._started.setdefault(user, deque())
            while started and started[0] <= now - self.WINDOW:
                started.popleft()
            if len(started) >= self.per_minute:
                wait = started[0] + self.WINDOW - now
                raise RateLimited(
                    f"You started {self.per_minute} KPI computations in the last minute, the "
                    f"most allowed. Try again in {_seconds(wait)}, or ask for figures "
                    "already shown (they are kept).",
                    wait,
                )
            started.append(now)
