import json
import unicodedata

import pytest

from shared.problems import Problem
from shared.text import safe_filename, storable, unstorable_fields, unstorable_parameters


@pytest.mark.parametrize(
    "text", ["", "Hồ sơ của xã An Hiệp", "😀 emoji, a surrogate pair in JSON", "tab\tand\nnewline", "a\u200bb"]
)
def test_text_a_database_can_hold(text: str) -> None:
    assert storable(text)


@pytest.mark.parametrize("text", ["a\x00b", "\x00", "\ud800", "lý do \udfff", "Hồ sơ \x00"])
def test_nul_and_lone_surrogates_cannot_be_stored(text: str) -> None:
    assert not storable(text)


def test_unstorable_fields_names_each_bad_string_by_its_path() -> None:
    document = json.loads(
        '{"reason": "a\\u0000b", "ok": "Lý do", "n": 5, "members": [{"name": "x"}, {"name": "\\ud800"}],'
        ' "\\udc00": "key", "nested": {"deep": ["fine", "\\u0000"]}}'
    )

    assert list(unstorable_fields(document)) == ["reason", "members.1.name", "_schema", "nested.deep.1"]
    assert list(unstorable_fields(json.loads('"\\u0000"'))) == ["_schema"]
    assert list(unstorable_fields(json.loads('{"a": ["x", 1, null, true, {"b": "😀"}]}'))) == []


def test_unstorable_parameters_are_named_whichever_half_holds_the_character() -> None:
    given = [("unit", "hoa-tan"), ("subject", "a\x00b"), ("sub\x00ject", "x"), ("unit", "\ud800"), ("q", "Lý do")]

    assert unstorable_parameters(given) == ["subject", "sub\x00ject", "unit"]
    assert unstorable_parameters([]) == []


# --- safe_filename --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Tờ trình 2021.pdf", "Tờ trình 2021.pdf"),
        ("  Báo cáo thành tích tập thể.docx \n", "Báo cáo thành tích tập thể.docx"),
        ("Biên bản họp Hội đồng (lần 2).doc", "Biên bản họp Hội đồng (lần 2).doc"),
        (unicodedata.normalize("NFD", "Quyết định khen thưởng.pdf"), "Quyết định khen thưởng.pdf"),
        ("..hidden.pdf", "..hidden.pdf"),
        ("a" * 200, "a" * 200),
    ],
)
def test_safe_filename_keeps_the_name_as_given(given: str, expected: str) -> None:
    result = safe_filename(given)

    assert result == expected
    assert unicodedata.is_normalized("NFC", result)


@pytest.mark.parametrize(
    "given",
    [
        None,
        "",
        "   ",
        "../../etc/passwd",
        "hồ sơ/tờ trình.pdf",
        "a\\b.pdf",
        ".",
        "..",
        " .. ",
        "x\x00.pdf",
        "a\nb.pdf",
        "a\x1b[31mb.pdf",
        "\u202egpj.exe",  # shows as "exe.jpg"
        "tờ\u200btrình.pdf",
        "a" * 201,
    ],
)
def test_safe_filename_refuses_unsafe_names(given: str | None) -> None:
    with pytest.raises(Problem) as raised:
        safe_filename(given)

    assert raised.value.status == 400
    assert raised.value.code == "unsafe_filename"
    assert raised.value.detail.startswith("Tên tệp không hợp lệ: ")


def test_a_long_vietnamese_name_is_counted_in_characters_after_normalising() -> None:
    # 200 composed characters, 400+ code points when decomposed.
    name = unicodedata.normalize("NFD", "ệ" * 200)

    assert safe_filename(name) == "ệ" * 200
