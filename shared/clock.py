"""Time as the campaigns see it: stored in UTC, shown and judged in Vietnam.

Every instant the system keeps is timezone-aware UTC, so that services on
differently configured hosts agree.  People, however, live in
Asia/Ho_Chi_Minh: a deadline "no later than 06/12/2021" ends at midnight in
Hà Nội, not in Greenwich.  The current time is injected as a ``Clock`` so tests
can stand on any day and a past campaign can be replayed (``THIDUA_NOW``), or replayed with days turned
by hand across every process (``THIDUA_CLOCK_FILE``).
"""

import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as time_of_day
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

log = logging.getLogger(__name__)


class Clock(Protocol):
    """Where "now" comes from; injected so that no rule depends on the host's real time."""

    def now(self) -> datetime:
        """The current instant, timezone-aware in UTC."""
        ...


class SystemClock:
    """The real time, for production."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ShiftedClock:
    """A clock set to another day that keeps ticking, so a 2021 campaign can be replayed today.

    It follows a monotonic timer rather than the wall clock so that the host's
    clock being adjusted cannot make replayed time jump or run backwards.
    """

    def __init__(self, start: datetime, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._start = _as_utc(start)
        self._monotonic = monotonic
        self._started_at = monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._monotonic() - self._started_at)


class FixedClock:
    """A clock that moves only when told to, so tests decide exactly what time it is."""

    def __init__(self, at: datetime) -> None:
        self._at = _as_utc(at)
        # Tests may drive one clock from several worker threads.
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._at

    def set(self, at: datetime) -> None:
        instant = _as_utc(at)
        with self._lock:
            self._at = instant

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._at += delta


class FileClock:
    """A replay clock that every process reading the same file agrees on, and that is moved by rewriting it.

    A replay on the campaign's own dates (``ShiftedClock``) runs on in real time, so it never reaches a
    deadline a week away. Here "now" is the instant written in the file plus the time elapsed since the file
    was written (its mtime), so rewriting the file turns the page for every process of every service that
    reads it: on one machine, or pods mounting the same ConfigMap. The file is looked at (one ``stat``) at
    most every ``check_seconds`` and re-read only when it changed; between looks, time follows a monotonic
    timer, so adjusting the host's clock moves nothing until the file itself changes.
    """

    def __init__(
        self,
        path: Path,
        *,
        check_seconds: float = 0.2,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self._check_seconds = check_seconds
        self._monotonic = monotonic
        self._wall = wall
        self._lock = threading.Lock()
        self._signature: tuple[int, int, int] | None = None
        self._checked_at = monotonic()
        # A process must not start on a guessed time: a missing or unreadable file is refused here.
        self._base, self._anchor = self._read(os.stat(path))

    def now(self) -> datetime:
        with self._lock:
            current = self._monotonic()
            if current - self._checked_at >= self._check_seconds:
                self._checked_at = current
                self._look()
            return self._base + timedelta(seconds=self._monotonic() - self._anchor)

    def _look(self) -> None:
        try:
            stat = os.stat(self.path)
            if _signature(stat) != self._signature:
                self._base, self._anchor = self._read(stat)
        except (OSError, ValueError) as err:
            # Keep the time it had: a clock that stops answering would stop every request with it.
            log.warning("clock file %s unreadable, keeping the last instant: %s", self.path, err)

    def _read(self, stat: os.stat_result) -> tuple[datetime, float]:
        instant = parse_instant(self.path.read_text(encoding="utf-8"))
        # Wall time is compared with the mtime only here; a writer's clock slightly ahead counts as zero.
        elapsed = max(0.0, self._wall() - stat.st_mtime_ns / 1e9)
        self._signature = _signature(stat)
        return instant + timedelta(seconds=elapsed), self._monotonic()


def write_clock_file(path: Path, instant: datetime) -> None:
    """Set the replayed time: written beside the file then renamed, so no reader sees half an instant."""
    text = _as_utc(instant).isoformat() + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _signature(stat: os.stat_result) -> tuple[int, int, int]:
    # The inode changes on every rename, so a rewrite within the filesystem's mtime granularity still counts.
    return stat.st_mtime_ns, stat.st_ino, stat.st_size


def parse_instant(text: str) -> datetime:
    """Read an ISO 8601 instant the way a clerk means it.

    A clerk typing "2021-12-01T09:00" means nine o'clock in Vietnam, and a bare
    "2021-12-01" means the start of that local day, so text without an offset
    is local time.  Text with an offset or "Z" is taken as given.
    """
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{text!r} is not an ISO 8601 date or instant (e.g. '2021-12-01', '2021-12-01T09:00', "
            "'2021-12-01T02:00:00Z')"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=LOCAL_TZ)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # the first hours of year 1 in Vietnam, the last of 9999 behind UTC: no instant in UTC
        raise ValueError(f"{text!r} is outside the instants that can be written in UTC (years 1 to 9999)") from None


def clock_from_setting(value: str | None, clock_file: Path | None = None) -> Clock:
    """The clock for the THIDUA_NOW and THIDUA_CLOCK_FILE settings: real time unless either is given.

    The clock file wins when both are set: it is the one that can be moved, and a deployment may keep a
    THIDUA_NOW from its defaults while a trainer turns the days with the file.
    """
    if clock_file is not None:
        if value and value.strip():
            log.info("THIDUA_CLOCK_FILE is set: the clock reads %s and THIDUA_NOW is ignored", clock_file)
        try:
            return FileClock(clock_file)
        except OSError as err:
            raise ValueError(
                f"THIDUA_CLOCK_FILE {clock_file} cannot be read ({err.strerror}); "
                "write it first with `thidua clock set INSTANT`"
            ) from None
    if value is None or not value.strip():
        return SystemClock()
    return ShiftedClock(parse_instant(value))


def to_local(instant: datetime) -> datetime:
    """The instant on a Vietnamese wall clock, for showing to people."""
    _require_aware(instant)
    return instant.astimezone(LOCAL_TZ)


def local_date(instant: datetime) -> date:
    """The day it was in Vietnam, which is the day that counts for deadlines and documents."""
    return to_local(instant).date()


def end_of_local_day(day: date) -> datetime:
    """The last instant still belonging to ``day`` in Vietnam, as UTC, for storing deadlines."""
    return datetime.combine(day, time_of_day.max, tzinfo=LOCAL_TZ).astimezone(UTC)


def is_by_deadline(instant: datetime, deadline: date) -> bool:
    """Whether ``instant`` meets "no later than ``deadline``": the whole local day still counts."""
    return local_date(instant) <= deadline


def format_local_date(day_or_instant: date | datetime) -> str:
    """dd/mm/yyyy, the order Vietnamese documents write dates in; an instant shows its local day."""
    # datetime is a subclass of date, so instants must be told apart first.
    day = local_date(day_or_instant) if isinstance(day_or_instant, datetime) else day_or_instant
    return f"{day.day:02d}/{day.month:02d}/{day.year:04d}"


def format_local_datetime(instant: datetime) -> str:
    """dd/mm/yyyy HH:MM in Vietnamese time, precise enough for people and free of seconds noise."""
    local = to_local(instant)
    return f"{format_local_date(local.date())} {local.hour:02d}:{local.minute:02d}"


def _as_utc(instant: datetime) -> datetime:
    _require_aware(instant)
    return instant.astimezone(UTC)


def _require_aware(instant: datetime) -> None:
    # A naive datetime could be UTC or local; guessing would shift deadlines by seven hours.
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"naive datetime {instant.isoformat()} has no timezone; instants must be timezone-aware")
