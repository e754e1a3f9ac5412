"""Amounts of money as the district's documents print them.

Money is always a whole number of Vietnamese đồng held in a Python ``int``:
the đồng has no subunit in use, and floats would silently lose exactness on
large budgets.  Award decisions print each prize twice, in figures
("2.500.000 đồng") and in words ("Hai triệu năm trăm ngàn đồng"), so that a
figure altered by hand no longer matches its words.
"""

from dataclasses import dataclass

_CURRENCY = "đồng"
_DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
_ONE_BILLION = 10**9


@dataclass(frozen=True)
class _Dialect:
    """The words that differ between the southern and northern way of reading numbers."""

    thousand: str
    zero_tens: str


_DIALECTS = {
    "south": _Dialect(thousand="ngàn", zero_tens="lẻ"),
    "north": _Dialect(thousand="nghìn", zero_tens="linh"),
}


def format_vnd(amount: int) -> str:
    """Figures with dots between thousands, because that is how Vietnamese documents group digits."""
    _require_amount(amount)
    return f"{amount:,} {_CURRENCY}".replace(",", ".")


def vnd_in_words(amount: int, style: str = "south") -> str:
    """The amount spelled out, so a printed figure can be checked against its words.

    ``style="south"`` follows the district plan ("ngàn", "lẻ"); ``style="north"``
    gives the northern reading ("nghìn", "linh") for units that prefer it.
    """
    _require_amount(amount)
    dialect = _dialect(style)
    words = _number_words(amount, dialect, leading=True) if amount else [_DIGITS[0]]
    sentence = " ".join([*words, _CURRENCY])
    return sentence[0].upper() + sentence[1:]


def _require_amount(amount: int) -> None:
    # bool is an int subclass; True đồng is a bug upstream, not one đồng.
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError(f"an amount of money must be an int of đồng, got {type(amount).__name__}")
    if amount < 0:
        raise ValueError(f"an amount of money cannot be negative, got {amount}")


def _dialect(style: str) -> _Dialect:
    try:
        return _DIALECTS[style]
    except KeyError:
        known = ", ".join(repr(name) for name in _DIALECTS)
        raise ValueError(f"unknown style {style!r}; expected one of {known}") from None


def _number_words(amount: int, dialect: _Dialect, *, leading: bool) -> list[str]:
    """Words for a positive amount; ``tỷ`` repeats every nine digits, so billions recurse."""
    billions, below_billion = divmod(amount, _ONE_BILLION)
    words: list[str] = []
    if billions:
        words += [*_number_words(billions, dialect, leading=leading), "tỷ"]
        leading = False
    named_groups = (
        (below_billion // 1_000_000, "triệu"),
        (below_billion // 1_000 % 1_000, dialect.thousand),
        (below_billion % 1_000, ""),
    )
    for group, name in named_groups:
        if group == 0:
            continue
        words += _group_words(group, dialect, leading=leading)
        if name:
            words.append(name)
        leading = False
    return words


def _group_words(group: int, dialect: _Dialect, *, leading: bool) -> list[str]:
    """Words for 1-999; a group after another one always names its hundreds, even "không trăm"."""
    hundreds, tens, units = group // 100, group // 10 % 10, group % 10
    words: list[str] = []
    if hundreds or not leading:
        words += [_DIGITS[hundreds], "trăm"]
    if tens == 0:
        if units and words:
            words.append(dialect.zero_tens)
        if units:
            words.append(_DIGITS[units])
    elif tens == 1:
        words.append("mười")
        words += _units_after_tens(units, after_twenty=False)
    else:
        words += [_DIGITS[tens], "mươi"]
        words += _units_after_tens(units, after_twenty=True)
    return words


def _units_after_tens(units: int, *, after_twenty: bool) -> list[str]:
    # After a tens word, 5 is read "lăm", and 1 is "mốt" once the tens reach twenty.
    if units == 0:
        return []
    if units == 5:
        return ["lăm"]
    if units == 1 and after_twenty:
        return ["mốt"]
    return [_DIGITS[units]]
