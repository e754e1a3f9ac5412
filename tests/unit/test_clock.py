import threading
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.clock import (
    LOCAL_TZ,
    FixedClock,
    ShiftedClock,
    SystemClock,
    clock_from_setting,
    end_of_local_day,
    format_local_date,
    format_local_datetime,
    is_by_deadline,
    local_date,
    parse_instant,
    to_local,
)

DEADLINE = date(2021, 12, 6)
LAST_MOMENT_OF_DEADLINE = datetime(2021, 12, 6, 16, 59, 59, 999999, tzinfo=UTC)
MIDNIGHT_AFTER_DEADLINE = datetime(2021, 12, 6, 17, 0, tzinfo=UTC)
NAIVE = datetime(2021, 12, 6, 9, 0)


class FakeMonotonic:
    def __init__(self) -> None:
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds


# --- deadlines -------------------------------------------------------------


def test_end_of_local_day_is_the_last_microsecond_before_local_midnight() -> None:
    end = end_of_local_day(DEADLINE)

    assert end == LAST_MOMENT_OF_DEADLINE
    assert end.utcoffset() == timedelta(0)
    assert to_local(end).replace(tzinfo=None) == datetime(2021, 12, 6, 23, 59, 59, 999999)


def test_last_microsecond_of_the_local_day_is_by_the_deadline() -> None:
    assert is_by_deadline(LAST_MOMENT_OF_DEADLINE, DEADLINE)


def test_local_midnight_after_the_deadline_day_is_late() -> None:
    assert not is_by_deadline(MIDNIGHT_AFTER_DEADLINE, DEADLINE)


@pytest.mark.parametrize(
    ("instant", "on_time"),
    [
        (datetime(2021, 11, 30, 2, 0, tzinfo=UTC), True),
        (datetime(2021, 12, 5, 17, 0, tzinfo=UTC), True),  # 00:00 local on the 6th
        (datetime(2021, 12, 5, 16, 59, tzinfo=UTC), True),  # 23:59 local on the 5th
        (datetime(2021, 12, 6, 23, 0, tzinfo=timezone(timedelta(hours=7))), True),
        (datetime(2021, 12, 7, 0, 0, tzinfo=timezone(timedelta(hours=7))), False),
        (datetime(2021, 12, 6, 12, 0, tzinfo=timezone(timedelta(hours=-5))), False),  # 00:00 local, 7th
        (datetime(2021, 12, 8, 0, 0, tzinfo=UTC), False),
    ],
)
def test_is_by_deadline_judges_in_local_time(instant: datetime, on_time: bool) -> None:
    assert is_by_deadline(instant, DEADLINE) is on_time


def test_an_instant_on_the_6th_in_utc_can_be_the_7th_locally() -> None:
    instant = datetime(2021, 12, 6, 18, 30, tzinfo=UTC)

    assert instant.date() == DEADLINE
    assert local_date(instant) == date(2021, 12, 7)
    assert not is_by_deadline(instant, DEADLINE)


def test_is_by_deadline_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="naive"):
        is_by_deadline(NAIVE, DEADLINE)


@given(
    instant=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
    deadline=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
)
def test_is_by_deadline_agrees_with_end_of_local_day(instant: datetime, deadline: date) -> None:
    assert is_by_deadline(instant, deadline) == (instant <= end_of_local_day(deadline))


@given(day=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)))
def test_end_of_local_day_is_the_last_instant_of_that_local_day(day: date) -> None:
    end = end_of_local_day(day)

    assert local_date(end) == day
    assert local_date(end + timedelta(microseconds=1)) == day + timedelta(days=1)


# --- parsing ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-12-01T09:00:00Z", datetime(2021, 12, 1, 9, 0, tzinfo=UTC)),
        ("2021-12-01T09:00Z", datetime(2021, 12, 1, 9, 0, tzinfo=UTC)),
        ("2021-12-01T09:00:00+00:00", datetime(2021, 12, 1, 9, 0, tzinfo=UTC)),
        ("2021-12-01T09:00:00+07:00", datetime(2021, 12, 1, 2, 0, tzinfo=UTC)),
        ("2021-12-01T09:00:00-05:00", datetime(2021, 12, 1, 14, 0, tzinfo=UTC)),
        ("2021-12-01T09:00:00.250+07:00", datetime(2021, 12, 1, 2, 0, 0, 250000, tzinfo=UTC)),
        ("2021-12-01T09:00", datetime(2021, 12, 1, 2, 0, tzinfo=UTC)),
        ("2021-12-01T09:00:30", datetime(2021, 12, 1, 2, 0, 30, tzinfo=UTC)),
        ("2021-12-01T03:00", datetime(2021, 11, 30, 20, 0, tzinfo=UTC)),
        ("2021-12-01", datetime(2021, 11, 30, 17, 0, tzinfo=UTC)),
        ("  2021-12-01T09:00\n", datetime(2021, 12, 1, 2, 0, tzinfo=UTC)),
    ],
)
def test_parse_instant(text: str, expected: datetime) -> None:
    parsed = parse_instant(text)

    assert parsed == expected
    assert parsed.tzinfo is UTC


def test_a_bare_date_means_local_midnight() -> None:
    parsed = parse_instant("2021-12-01")

    assert to_local(parsed).replace(tzinfo=None) == datetime(2021, 12, 1, 0, 0)
    assert local_date(parsed) == date(2021, 12, 1)


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "   ",
        "yesterday",
        "01/12/2021",
        "2021-13-01",
        "2021-12-32",
        "2021-12-01T25:00",
        "2021-12-01T09:00+7",
    ],
)
def test_parse_instant_refuses_garbage_naming_the_text(garbage: str) -> None:
    with pytest.raises(ValueError, match="not an ISO 8601") as raised:
        parse_instant(garbage)

    assert repr(garbage) in str(raised.value)


# --- clocks ----------------------------------------------------------------


def test_system_clock_gives_the_current_time_in_utc() -> None:
    before = datetime.now(UTC)
    now = SystemClock().now()
    after = datetime.now(UTC)

    assert now.tzinfo is UTC
    assert before <= now <= after


def test_shifted_clock_starts_at_its_start_and_runs_on_at_real_pace() -> None:
    monotonic = FakeMonotonic()
    start = datetime(2021, 12, 1, 2, 0, tzinfo=UTC)
    clock = ShiftedClock(start, monotonic=monotonic)

    assert clock.now() == start
    monotonic.seconds += 90.5
    assert clock.now() == start + timedelta(seconds=90.5)
    monotonic.seconds += 3600
    assert clock.now() == start + timedelta(seconds=3690.5)


def test_shifted_clock_reports_utc_for_a_start_given_in_local_time() -> None:
    start = datetime(2021, 12, 1, 9, 0, tzinfo=LOCAL_TZ)
    now = ShiftedClock(start, monotonic=FakeMonotonic()).now()

    assert now == datetime(2021, 12, 1, 2, 0, tzinfo=UTC)
    assert now.tzinfo is UTC


def test_shifted_clock_refuses_a_naive_start() -> None:
    with pytest.raises(ValueError, match="naive"):
        ShiftedClock(NAIVE, monotonic=FakeMonotonic())


def test_fixed_clock_stands_still_until_moved() -> None:
    at = datetime(2021, 12, 6, 16, 0, tzinfo=UTC)
    clock = FixedClock(at)

    assert clock.now() == at
    assert clock.now() == at


def test_fixed_clock_advance_and_set() -> None:
    clock = FixedClock(datetime(2021, 12, 6, 16, 0, tzinfo=UTC))

    clock.advance(timedelta(hours=1))
    assert clock.now() == MIDNIGHT_AFTER_DEADLINE
    assert not is_by_deadline(clock.now(), DEADLINE)

    clock.set(datetime(2021, 12, 1, 9, 0, tzinfo=LOCAL_TZ))
    assert clock.now() == datetime(2021, 12, 1, 2, 0, tzinfo=UTC)
    assert clock.now().tzinfo is UTC


def test_fixed_clock_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="naive"):
        FixedClock(NAIVE)
    clock = FixedClock(MIDNIGHT_AFTER_DEADLINE)
    with pytest.raises(ValueError, match="naive"):
        clock.set(NAIVE)
    assert clock.now() == MIDNIGHT_AFTER_DEADLINE


def test_fixed_clock_advances_from_many_threads_add_up() -> None:
    start = datetime(2021, 1, 1, tzinfo=UTC)
    clock = FixedClock(start)

    def advance_many() -> None:
        for _ in range(1000):
            clock.advance(timedelta(seconds=1))

    workers = [threading.Thread(target=advance_many) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert clock.now() == start + timedelta(seconds=8000)


@pytest.mark.parametrize("value", [None, "", "   "])
def test_clock_from_an_empty_setting_is_the_system_clock(value: str | None) -> None:
    assert isinstance(clock_from_setting(value), SystemClock)


def test_clock_from_a_setting_replays_from_that_local_instant() -> None:
    clock = clock_from_setting("2021-12-01T09:00")
    now = clock.now()

    assert isinstance(clock, ShiftedClock)
    start = datetime(2021, 12, 1, 2, 0, tzinfo=UTC)
    assert start <= now < start + timedelta(minutes=1)


def test_clock_from_a_bad_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="'next week'"):
        clock_from_setting("next week")


# --- local time and formatting ---------------------------------------------


def test_to_local_shows_vietnamese_wall_time() -> None:
    local = to_local(MIDNIGHT_AFTER_DEADLINE)

    assert local.tzinfo is LOCAL_TZ
    assert local.replace(tzinfo=None) == datetime(2021, 12, 7, 0, 0)
    assert local == MIDNIGHT_AFTER_DEADLINE


@pytest.mark.parametrize("function", [to_local, local_date, format_local_datetime, format_local_date])
def test_local_views_refuse_naive_datetimes(function: object) -> None:
    with pytest.raises(ValueError, match="naive"):
        function(NAIVE)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (date(2021, 12, 6), "06/12/2021"),
        (date(2022, 1, 31), "31/01/2022"),
        (LAST_MOMENT_OF_DEADLINE, "06/12/2021"),
        (MIDNIGHT_AFTER_DEADLINE, "07/12/2021"),
    ],
)
def test_format_local_date(value: date, text: str) -> None:
    assert format_local_date(value) == text


@pytest.mark.parametrize(
    ("instant", "text"),
    [
        (LAST_MOMENT_OF_DEADLINE, "06/12/2021 23:59"),
        (MIDNIGHT_AFTER_DEADLINE, "07/12/2021 00:00"),
        (datetime(2021, 12, 1, 2, 5, tzinfo=UTC), "01/12/2021 09:05"),
        (datetime(2021, 12, 1, 9, 5, tzinfo=timezone(timedelta(hours=7))), "01/12/2021 09:05"),
    ],
)
def test_format_local_datetime(instant: datetime, text: str) -> None:
    assert format_local_datetime(instant) == text
