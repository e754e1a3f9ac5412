"""How the pages write dates, money, rates and days left: the Vietnamese way, from what the APIs answer."""

from __future__ import annotations

from datetime import date, datetime
from email.utils import parsedate_to_datetime
from fractions import Fraction
from typing import Any

from shared.clock import format_local_date, format_local_datetime, local_date, parse_instant
from shared.money import format_vnd
from shared.rates import format_percent


def as_date(value: Any) -> str:
    """An ISO day or instant from an API, as dd/mm/yyyy (an instant shows its day in Vietnam)."""
    if not value:
        return "—"
    if isinstance(value, date):
        return format_local_date(value)
    text = str(value)
    return format_local_date(date.fromisoformat(text) if len(text) == 10 else instant(text))


def as_datetime(value: Any) -> str:
    if not value:
        return "—"
    return format_local_datetime(value if isinstance(value, datetime) else instant(str(value)))


def instant(text: str) -> datetime:
    """An instant as an API writes it: ISO 8601, or the HTTP date some JSON encoders give (``Wed, 01 Dec …``)."""
    return parsedate_to_datetime(text) if text[:3].isalpha() else parse_instant(text)


def as_money(amount: Any) -> str:
    return "—" if amount is None else format_vnd(int(amount))


def rate(online: Any, total: Any) -> Fraction | None:
    """The exact rate of two counts, or None when either is missing or the total is zero (no rate then)."""
    if online is None or total is None or int(total) == 0:
        return None
    return Fraction(int(online), int(total))


def as_percent(value: Fraction | None) -> str:
    return "—" if value is None else format_percent(value)


def days_left(deadline: Any, now: datetime) -> int:
    """Whole days from today (in Vietnam) to the deadline's day: 0 on the last day, negative once past it."""
    day = deadline if isinstance(deadline, date) else date.fromisoformat(str(deadline)[:10])
    return (day - local_date(now)).days


def days_left_text(days: int) -> str:
    if days > 0:
        return f"còn {days} ngày"
    if days == 0:
        return "hôm nay là hạn cuối"
    return f"đã quá hạn {-days} ngày"
