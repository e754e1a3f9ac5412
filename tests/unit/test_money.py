from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.money import format_vnd, vnd_in_words

SOUTH_WORDS = [
    (0, "Không đồng"),
    (1, "Một đồng"),
    (4, "Bốn đồng"),
    (5, "Năm đồng"),
    (9, "Chín đồng"),
    (10, "Mười đồng"),
    (11, "Mười một đồng"),
    (14, "Mười bốn đồng"),
    (15, "Mười lăm đồng"),
    (19, "Mười chín đồng"),
    (20, "Hai mươi đồng"),
    (21, "Hai mươi mốt đồng"),
    (24, "Hai mươi bốn đồng"),
    (25, "Hai mươi lăm đồng"),
    (55, "Năm mươi lăm đồng"),
    (91, "Chín mươi mốt đồng"),
    (99, "Chín mươi chín đồng"),
    (100, "Một trăm đồng"),
    (101, "Một trăm lẻ một đồng"),
    (105, "Một trăm lẻ năm đồng"),
    (110, "Một trăm mười đồng"),
    (111, "Một trăm mười một đồng"),
    (115, "Một trăm mười lăm đồng"),
    (121, "Một trăm hai mươi mốt đồng"),
    (200, "Hai trăm đồng"),
    (999, "Chín trăm chín mươi chín đồng"),
    (1_000, "Một ngàn đồng"),
    (1_001, "Một ngàn không trăm lẻ một đồng"),
    (1_010, "Một ngàn không trăm mười đồng"),
    (1_100, "Một ngàn một trăm đồng"),
    (5_000, "Năm ngàn đồng"),
    (10_000, "Mười ngàn đồng"),
    (15_000, "Mười lăm ngàn đồng"),
    (21_000, "Hai mươi mốt ngàn đồng"),
    (100_000, "Một trăm ngàn đồng"),
    (101_000, "Một trăm lẻ một ngàn đồng"),
    (500_000, "Năm trăm ngàn đồng"),
    (1_000_000, "Một triệu đồng"),
    (1_500_000, "Một triệu năm trăm ngàn đồng"),
    (2_000_000, "Hai triệu đồng"),
    (2_500_000, "Hai triệu năm trăm ngàn đồng"),
    (1_000_500, "Một triệu năm trăm đồng"),
    (1_005_000, "Một triệu không trăm lẻ năm ngàn đồng"),
    (1_000_050, "Một triệu không trăm năm mươi đồng"),
    (1_000_005, "Một triệu không trăm lẻ năm đồng"),
    (2_010_000, "Hai triệu không trăm mười ngàn đồng"),
    (1_234_567, "Một triệu hai trăm ba mươi bốn ngàn năm trăm sáu mươi bảy đồng"),
    (1_000_000_000, "Một tỷ đồng"),
    (1_000_000_001, "Một tỷ không trăm lẻ một đồng"),
    (2_500_000_000, "Hai tỷ năm trăm triệu đồng"),
    (15_000_000_000, "Mười lăm tỷ đồng"),
    (1_000_000_000_000, "Một ngàn tỷ đồng"),
    (1_001_000_000_000, "Một ngàn không trăm lẻ một tỷ đồng"),
    (10**15, "Một triệu tỷ đồng"),
    (10**18, "Một tỷ tỷ đồng"),
]

NORTH_WORDS = [
    (0, "Không đồng"),
    (21, "Hai mươi mốt đồng"),
    (101, "Một trăm linh một đồng"),
    (105, "Một trăm linh năm đồng"),
    (115, "Một trăm mười lăm đồng"),
    (1_000, "Một nghìn đồng"),
    (1_001, "Một nghìn không trăm linh một đồng"),
    (15_000, "Mười lăm nghìn đồng"),
    (101_000, "Một trăm linh một nghìn đồng"),
    (1_500_000, "Một triệu năm trăm nghìn đồng"),
    (2_000_000, "Hai triệu đồng"),
    (2_500_000, "Hai triệu năm trăm nghìn đồng"),
    (1_005_000, "Một triệu không trăm linh năm nghìn đồng"),
    (1_000_000_001, "Một tỷ không trăm linh một đồng"),
    (1_000_000_000_000, "Một nghìn tỷ đồng"),
]


@pytest.mark.parametrize(("amount", "words"), SOUTH_WORDS)
def test_vnd_in_words_reads_the_southern_way_by_default(amount: int, words: str) -> None:
    assert vnd_in_words(amount) == words


@pytest.mark.parametrize(("amount", "words"), SOUTH_WORDS)
def test_vnd_in_words_south_style_is_the_default(amount: int, words: str) -> None:
    assert vnd_in_words(amount, style="south") == words


@pytest.mark.parametrize(("amount", "words"), NORTH_WORDS)
def test_vnd_in_words_north_style_uses_nghin_and_linh(amount: int, words: str) -> None:
    assert vnd_in_words(amount, style="north") == words


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        (2_500_000, "Hai triệu năm trăm ngàn đồng"),
        (2_000_000, "Hai triệu đồng"),
        (1_500_000, "Một triệu năm trăm ngàn đồng"),
    ],
)
def test_the_three_prizes_of_the_plan_read_as_the_plan_writes_them(amount: int, words: str) -> None:
    assert vnd_in_words(amount) == words


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (0, "0 đồng"),
        (5, "5 đồng"),
        (999, "999 đồng"),
        (1_000, "1.000 đồng"),
        (15_000, "15.000 đồng"),
        (1_500_000, "1.500.000 đồng"),
        (2_000_000, "2.000.000 đồng"),
        (2_500_000, "2.500.000 đồng"),
        (1_000_000_000, "1.000.000.000 đồng"),
        (10**15, "1.000.000.000.000.000 đồng"),
    ],
)
def test_format_vnd_groups_thousands_with_dots(amount: int, text: str) -> None:
    assert format_vnd(amount) == text


@pytest.mark.parametrize("amount", [-1, -1_500_000])
def test_negative_amounts_are_refused(amount: int) -> None:
    with pytest.raises(ValueError, match="negative"):
        format_vnd(amount)
    with pytest.raises(ValueError, match="negative"):
        vnd_in_words(amount)


@pytest.mark.parametrize("not_money", [True, False, 1.5, 2_500_000.0, "2500000", None])
def test_non_integer_amounts_are_refused(not_money: object) -> None:
    with pytest.raises(TypeError):
        format_vnd(not_money)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        vnd_in_words(not_money)  # type: ignore[arg-type]


@pytest.mark.parametrize("style", ["", "South", "central", "nghìn"])
def test_unknown_style_is_refused(style: str) -> None:
    with pytest.raises(ValueError, match="unknown style"):
        vnd_in_words(1_000, style=style)


amounts = st.integers(min_value=0, max_value=10**21)


@given(amount=amounts, style=st.sampled_from(["south", "north"]))
def test_words_are_a_well_formed_sentence(amount: int, style: str) -> None:
    words = vnd_in_words(amount, style=style)

    assert "  " not in words
    assert words == words.strip()
    assert words[0].isupper()
    assert not any(letter.isupper() for letter in words[1:])
    assert words.endswith(" đồng")


@given(amount=amounts, style=st.sampled_from(["south", "north"]))
def test_words_follow_the_tens_and_zero_rules(amount: int, style: str) -> None:
    tokens = vnd_in_words(amount, style=style).lower().split()
    pairs = set(pairwise(tokens))

    assert not pairs & {("mươi", "một"), ("mươi", "năm"), ("mười", "năm")}
    assert all(before in {"mười", "mươi"} for before, word in pairs if word == "lăm")
    assert all(before == "mươi" for before, word in pairs if word == "mốt")
    if amount:
        assert all(after == "trăm" for word, after in pairs if word == "không")


@given(amount=amounts)
def test_format_vnd_round_trips(amount: int) -> None:
    text = format_vnd(amount)

    assert int(text.removesuffix(" đồng").replace(".", "")) == amount
    assert text.endswith(" đồng")


@given(amount=amounts)
def test_styles_differ_only_in_thousand_and_zero_tens_words(amount: int) -> None:
    south = vnd_in_words(amount, style="south").split()
    north = vnd_in_words(amount, style="north").split()

    assert len(south) == len(north)
    for south_word, north_word in zip(south, north, strict=True):
        assert south_word == north_word or (south_word, north_word) in {("ngàn", "nghìn"), ("lẻ", "linh")}
