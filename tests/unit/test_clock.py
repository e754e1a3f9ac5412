import os
import threading
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.clock import (
    LOCAL_TZ,
    FileClock,
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
    write_clock_file,
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


# --- the clock file ----------------------------------------------------------

DAY_ONE = datetime(2021, 12, 1, 1, 0, tzinfo=UTC)
WRITTEN_AT = 1_700_000_000.0  # the file's mtime, in the host's wall time


class FakeWall:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __call__(self) -> float:
        return self.seconds


def _write(path: Path, instant: datetime, mtime: float) -> None:
    write_clock_file(path, instant)
    os.utime(path, (mtime, mtime))


def _file_clock(path: Path, wall_seconds: float) -> tuple[FileClock, FakeMonotonic, FakeWall]:
    monotonic, wall = FakeMonotonic(), FakeWall(wall_seconds)
    return FileClock(path, monotonic=monotonic, wall=wall), monotonic, wall


def test_file_clock_is_the_written_instant_plus_the_time_since_it_was_written(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    _write(path, DAY_ONE, WRITTEN_AT)

    clock, monotonic, _ = _file_clock(path, WRITTEN_AT + 30)
    assert clock.now() == DAY_ONE + timedelta(seconds=30)

    monotonic.seconds += 5
    assert clock.now() == DAY_ONE + timedelta(seconds=35)


def test_rewriting_the_file_turns_the_page_for_a_running_clock(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    _write(path, DAY_ONE, WRITTEN_AT)
    clock, monotonic, wall = _file_clock(path, WRITTEN_AT)

    next_week = DAY_ONE + timedelta(days=7)
    _write(path, next_week, WRITTEN_AT + 100)
    wall.seconds = WRITTEN_AT + 101
    monotonic.seconds += 0.5

    assert clock.now() == next_week + timedelta(seconds=1)


def test_file_clock_looks_at_the_file_at_most_every_check_interval(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    _write(path, DAY_ONE, WRITTEN_AT)
    clock, monotonic, _ = _file_clock(path, WRITTEN_AT)

    _write(path, DAY_ONE + timedelta(days=7), WRITTEN_AT)
    monotonic.seconds += 0.1
    assert clock.now() == DAY_ONE + timedelta(seconds=0.1)  # not looked at yet

    monotonic.seconds += 0.1
    assert clock.now() == DAY_ONE + timedelta(days=7)


def test_file_clock_ignores_the_host_clock_between_rewrites(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    _write(path, DAY_ONE, WRITTEN_AT)
    clock, monotonic, wall = _file_clock(path, WRITTEN_AT)

    wall.seconds -= 3600  # the host's clock set back an hour; the file is unchanged
    monotonic.seconds += 1

    assert clock.now() == DAY_ONE + timedelta(seconds=1)


def test_file_clock_keeps_its_time_when_the_file_goes_missing(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    _write(path, DAY_ONE, WRITTEN_AT)
    clock, monotonic, _ = _file_clock(path, WRITTEN_AT)

    path.unlink()
    monotonic.seconds += 2

    assert clock.now() == DAY_ONE + timedelta(seconds=2)


def test_a_writer_clock_ahead_of_the_reader_counts_as_no_time_elapsed(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    _write(path, DAY_ONE, WRITTEN_AT)

    clock, _, _ = _file_clock(path, WRITTEN_AT - 10)

    assert clock.now() == DAY_ONE


def test_clock_file_holds_an_instant_people_can_read(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "clock"
    write_clock_file(path, datetime(2021, 12, 7, 8, 0, tzinfo=LOCAL_TZ))

    assert path.read_text() == "2021-12-07T01:00:00+00:00\n"
    assert [p.name for p in path.parent.iterdir()] == ["clock"]  # no temporary file left behind


def test_a_hand_written_local_instant_is_read_as_local_time(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    path.write_text("2021-12-07T08:00")

    now = FileClock(path).now()

    assert datetime(2021, 12, 7, 1, 0, tzinfo=UTC) <= now < datetime(2021, 12, 7, 1, 1, tzinfo=UTC)


def test_file_clock_is_safe_to_read_from_many_threads(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    _write(path, DAY_ONE, WRITTEN_AT)
    clock = FileClock(path, check_seconds=0)
    seen: list[datetime] = []

    def read_many() -> None:
        for _ in range(200):
            seen.append(clock.now())

    readers = [threading.Thread(target=read_many) for _ in range(4)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()

    assert len(seen) == 800
    assert all(instant >= DAY_ONE for instant in seen)


def test_clock_file_setting_wins_over_now(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    write_clock_file(path, DAY_ONE + timedelta(days=6))

    clock = clock_from_setting("2021-12-01T09:00", path)

    assert isinstance(clock, FileClock)
    assert DAY_ONE + timedelta(days=6) <= clock.now() < DAY_ONE + timedelta(days=6, minutes=1)


def test_a_missing_clock_file_is_refused_with_how_to_write_it(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="thidua clock set"):
        clock_from_setting("", tmp_path / "absent")


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
