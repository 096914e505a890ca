def test_default_as_of_never_puts_the_extract_in_the_future() -> None:
    import datetime as dt

    from control_tower.demo.generator import default_as_of

    morning = dt.datetime(2026, 11, 22, 1, 0, tzinfo=dt.UTC)  # before the 10:00 UTC extract
    noon = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)
    assert default_as_of(morning) == dt.date(2026, 11, 21)
    assert default_as_of(noon) == dt.date(2026, 11, 22)
