"""Rates are exact fractions until someone reads them: compared exactly, shown the Vietnamese way."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction


def format_percent(rate: Fraction, places: int = 2) -> str:
    """``Fraction(3, 5)`` → ``"60,00 %"``: a decimal comma and a space before the sign, as the plan's tables."""
    percent = Decimal(rate.numerator * 100) / Decimal(rate.denominator)
    rounded = percent.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{rounded:f}".replace(".", ",") + " %"


def percent_text(rate: Fraction) -> str:
    """The exact percentage as a plain decimal string for machines: ``Fraction(3, 5)`` → ``"60"``."""
    percent = Fraction(rate) * 100
    if percent.denominator == 1:
        return str(percent.numerator)
    return format(Decimal(percent.numerator) / Decimal(percent.denominator), "f")
