"""The web app's rate limits and redirect check on their own, with a clock the tests move (no
sleeping), and the settings that configure the web app's protections."""

from __future__ import annotations

import pytest

from control_tower.settings import SettingsError, load_settings
from control_tower.web.redirects import safe_next
from control_tower.web.throttle import ComputeBudget, RateLimited, SignInThrottle
from tests.support.clock import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def throttle(clock) -> SignInThrottle:
    return SignInThrottle(max_delay=900, clock=clock)


class TestSignInThrottle:
    def test_three_failures_are_free_then_the_wait_doubles_up_to_the_cap(self, throttle, clock):
        waits = []
        for _ in range(15):
            waits.append(throttle.retry_after("10.0.0.1", "ada"))
            throttle.failed("10.0.0.1", "ada")
        assert waits[:4] == [0, 0, 0, 1]
        assert waits[4:8] == [2, 4, 8, 16]
        assert max(waits) == 900
        assert waits[-1] == 900

    def test_waiting_raises_rate_limited_with_the_seconds_left(self, throttle, clock):
        for _ in range(5):
            throttle.failed("10.0.0.1", "ada")
        clock.now += 1.5
        with pytest.raises(RateLimited) as refused:
            throttle.check("10.0.0.1", "ada")
        assert refused.value.retry_after == 3  # 4 s after the fifth failure, 1.5 s gone
        assert "Try again in 3 seconds" in refused.value.message
        clock.now += 2.5
        throttle.check("10.0.0.1", "ada")  # the wait is over

    def test_an_address_that_never_failed_is_not_kept_out_of_a_targeted_account(
        self, throttle, clock
    ):
        for _ in range(8):
            throttle.failed("10.0.0.1", "ada")
        assert throttle.retry_after("10.0.0.1", "ada") == 32
        assert throttle.retry_after("10.0.0.2", "ada") == 0
        assert not throttle.has_failed("10.0.0.2")
        # Once it has failed too, it waits for the account's delay as well.
        throttle.failed("10.0.0.2", "ada")
        assert throttle.retry_after("10.0.0.2", "ada") == 64

    def test_another_account_from_a_throttled_address_still_waits(self, throttle):
        for n in range(5):
            throttle.failed("10.0.0.1", f"user{n}")
        assert throttle.retry_after("10.0.0.1", "someone-else") == 4

    def test_a_success_clears_the_address_and_the_account(self, throttle):
        for _ in range(6):
            throttle.failed("10.0.0.1", "ada")
        throttle.succeeded("10.0.0.1", "ada")
        assert throttle.retry_after("10.0.0.1", "ada") == 0
        assert not throttle.has_failed("10.0.0.1")

    def test_counts_are_forgotten_after_a_long_quiet(self, throttle, clock):
        for _ in range(4):
            throttle.failed("10.0.0.1", "ada")
        clock.now += 2 + 900 + 1  # the 2 s wait, then the cap again
        assert not throttle.has_failed("10.0.0.1")
        assert throttle.retry_after("10.0.0.1", "ada") == 0


class TestComputeBudget:
    def test_at_most_n_computations_in_any_minute(self, clock):
        budget = ComputeBudget(2, clock=clock)
        budget.take("pat")
        clock.now += 10
        budget.take("pat")
        with pytest.raises(RateLimited) as refused:
            budget.take("pat")
        assert refused.value.retry_after == 50
        assert "2 KPI computations in the last minute" in refused.value.message
        budget.take("eve")  # per user
        clock.now += 50
        budget.take("pat")  # the first one left the window


class TestSafeNext:
    @pytest.mark.parametrize(
        "target",
        [
            "/\t/evil.example",
            "/%09/evil.example",
            "/\n/evil.example",
            "//evil.example/x",
            "///evil.example",
            "/\\evil.example",
            "/%5Cevil.example",
            "/%2F/evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            "evil.example",
            "/\u200b/evil.example",
            "",
            None,
            "/" + "a" * 2000,
        ],
    )
    def test_anything_but_a_path_of_this_site_is_dropped(self, target):
        assert safe_next(target) is None

    @pytest.mark.parametrize(
        "target", ["/", "/data-health", "/data-health?batch=5", "/kpi/line_fill_rate#trend"]
    )
    def test_a_path_of_this_site_is_kept(self, target):
        assert safe_next(target) == target


class TestSettings:
    def test_defaults(self, tmp_path, monkeypatch):
        for name in ("IDLE_MINUTES", "TRUSTED_PROXIES", "MAX_REQUEST_MB"):
            monkeypatch.delenv(f"CONTROL_TOWER_{name}", raising=False)
        monkeypatch.delenv("CONTROL_TOWER_KPI_COMPUTATIONS_PER_MINUTE", raising=False)
        settings = load_settings(tmp_path)
        assert (settings.idle_minutes, settings.trusted_proxies) == (30.0, 0)
        assert settings.max_request_bytes == 2_000_000
        assert settings.kpi_computations_per_minute == 30

    def test_values_from_the_environment(self, tmp_path, monkeypatch):
        monkeypatch.setenv("CONTROL_TOWER_IDLE_MINUTES", "5")
        monkeypatch.setenv("CONTROL_TOWER_TRUSTED_PROXIES", "2")
        monkeypatch.setenv("CONTROL_TOWER_MAX_REQUEST_MB", "0.5")
        monkeypatch.setenv("CONTROL_TOWER_KPI_COMPUTATIONS_PER_MINUTE", "10")
        settings = load_settings(tmp_path)
        assert (settings.idle_minutes, settings.trusted_proxies) == (5.0, 2)
        assert (settings.max_request_bytes, settings.kpi_computations_per_minute) == (500_000, 10)

    @pytest.mark.parametrize(
        ("name", "value", "says"),
        [
            ("TRUSTED_PROXIES", "yes", "must be a whole number, 0 or more"),
            ("TRUSTED_PROXIES", "-1", "must be a whole number, 0 or more"),
            ("IDLE_MINUTES", "0", "must be greater than 0"),
            ("MAX_REQUEST_MB", "big", "is not a number"),
        ],
    )
    def test_bad_values_are_refused_by_name(self, tmp_path, monkeypatch, name, value, says):
        monkeypatch.setenv(f"CONTROL_TOWER_{name}", value)
        with pytest.raises(SettingsError, match=f"CONTROL_TOWER_{name}=.*{says}"):
            load_settings(tmp_path)
