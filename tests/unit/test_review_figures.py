"""The one-stop shop's figures are read from CSV or XLSX in any of the three layouts, and a file with any bad row is
refused whole, listing every bad row at once."""

from __future__ import annotations

import csv
import io
import pickle
import unicodedata
import zipfile
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from services.review import figures
from services.review.figures import (
    MAX_BYTES,
    MAX_ROWS,
    FigureRow,
    FiguresRefused,
    RowError,
    read_figures,
    units_missing,
)
from services.simulator.synthetic import write_synthetic_campaign
from shared.campaigns import Campaign, default_campaign

ENGLISH_HEADER = "unit,online_case_files,total_case_files,online_procedures,total_procedures"


@pytest.fixture(scope="module")
def campaign() -> Campaign:
    return default_campaign()


# --- building files ------------------------------------------------------------------------------------------


def table(rows: Sequence[Sequence[object]], delimiter: str = ",", bom: bool = False) -> bytes:
    """A CSV as a spreadsheet would save it (quoting where needed)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerows(["" if value is None else value for value in row] for row in rows)
    return (b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode("utf-8")


def english(*rows: str) -> bytes:
    return "\n".join((ENGLISH_HEADER, *rows)).encode("utf-8")


def xlsx(rows: Sequence[Sequence[object]], merges: Sequence[str] = ()) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    for cells in merges:
        sheet.merge_cells(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def refused(data: bytes, campaign: Campaign, filename: str | None = None) -> list[RowError]:
    with pytest.raises(FiguresRefused) as caught:
        read_figures(data, campaign, filename)
    return caught.value.errors


def codes(errors: Sequence[RowError]) -> list[tuple[int | None, str | None, str]]:
    return [(error.line, error.field, error.code) for error in errors]


def only_error(data: bytes, campaign: Campaign, filename: str | None = None) -> RowError:
    errors = refused(data, campaign, filename)
    assert len(errors) == 1, errors
    return errors[0]


# --- the plan's Phụ lục 2 table, with every unit of 2021 -----------------------------------------------------

# (name as the plan's table writes it, code, online case files, total case files, online procedures, total procedures)
DISTRICT_ROWS = [
    ("Phòng Nội vụ (09 thủ tục)", "noi-vu", 120, 150, 6, 9),
    ("Phòng Tư pháp (21 thủ tục)", "tu-phap", 1234, 2000, 15, 21),
    ("Phòng Kinh tế - Hạ tầng (15 thủ tục)", "kinh-te-ha-tang", 88, 300, 7, 15),
    ("Phòng Tài chính - Kế hoạch (06 thủ tục)", "tai-chinh-ke-hoach", 40, 40, 6, 6),
    ("Phòng Nông nghiệp & PTNT (02 thủ tục)", "nong-nghiep-ptnt", 0, 0, 0, 2),
    ("Phòng Lao động TB&XH (04 thủ tục)", "lao-dong-tbxh", 59, 100, 2, 4),
    ("Phòng Tài nguyên và Môi trường (05 thủ tục)", "tai-nguyen-moi-truong", 61, 100, 3, 5),
    ("Phòng Giaó dục và Đào tạo (06 thủ tục)", "giao-duc-dao-tao", 300, 310, 5, 6),
    ("Phòng Văn hóa – Thông tin (03 thủ tục)", "van-hoa-thong-tin", 12, 12, 3, 3),
]
COMMUNE_ROWS = [
    (name, code, 100 + 7 * index, 200 + 11 * index, index, 30 + index)
    for index, (name, code) in enumerate(
        [
            ("Hòa Tân", "hoa-tan"),
            ("An Khánh", "an-khanh"),
            ("Cái Tàu Hạ", "cai-tau-ha"),
            ("An Nhơn", "an-nhon"),
            ("An Phú Thuận", "an-phu-thuan"),
            ("Phú Hựu", "phu-huu"),
            ("Tân Bình", "tan-binh"),
            ("Tân Phú Trung", "tan-phu-trung"),
            ("Tân Nhuận Đông", "tan-nhuan-dong"),
            ("Tân Phú", "tan-phu"),
            ("Phú Long", "phu-long"),
            ("An Hiệp", "an-hiep"),
        ],
        start=1,
    )
]
CASE_FILE_GROUP = "Tỷ lệ hồ sơ TTHC được xử lý trực tuyến mức 4 trong năm (từ 60% số hồ sơ TTHC trở lên)"
PROCEDURE_GROUP = "Tỷ lệ TTHC cung cấp trực tuyến mức 4 có phát sinh hồ sơ trong năm (từ 50% số TTHC trở lên)"
TITLES: list[list[object]] = [
    ["BẢNG TỔNG HỢP KẾT QUẢ THI ĐUA CHUYÊN ĐỀ"],
    ["“THỰC HIỆN DỊCH VỤ CÔNG TRỰC TUYẾN MỨC ĐỘ 4” NĂM 2021"],
    ["(Kèm theo Kế hoạch số        /KH-UBND ngày       /     /2021 của UBND huyện Châu Thành)"],
    [],
]
GROUP_HEADER: list[object] = ["STT", "Đơn vị", CASE_FILE_GROUP, None, None, PROCEDURE_GROUP, None, None, "Ghi chú"]
SUB_HEADER: list[object] = [None, None, "Trực tuyến", "Tổng", "Tỷ lệ %", "Trực tuyến", "Tổng", "Tỷ lệ %", None]


def plan_row(number: int, row: tuple[str, str, int, int, int, int], as_text: bool = True) -> list[object]:
    name, _, online, total, online_procedures, total_procedures = row
    wrong_rate = "99,99"  # "Tỷ lệ %" is computed by the import, never read
    counts: list[object] = [online, total, online_procedures, total_procedures]
    if as_text:
        counts = [f"{count:,}".replace(",", ".") for count in counts]  # "1.234", as a Vietnamese sheet shows it
    return [number, name, counts[0], counts[1], wrong_rate, counts[2], counts[3], wrong_rate, "đã đối chiếu"]


def plan_table(as_text: bool = True) -> list[list[object]]:
    """Lines 1-4 titles, 5 "I. CẤP HUYỆN:", 6-7 the two-row header, 8-16 offices, 17 "II. CẤP XÃ:", 18-29 communes."""
    rows: list[list[object]] = [*TITLES, ["I. CẤP HUYỆN:"], GROUP_HEADER, SUB_HEADER]
    rows += [plan_row(number, row, as_text) for number, row in enumerate(DISTRICT_ROWS, start=1)]
    rows.append([None, "II. CẤP XÃ:"])
    rows += [plan_row(number, row, as_text) for number, row in enumerate(COMMUNE_ROWS, start=1)]
    return rows


def expected_all_units() -> list[FigureRow]:
    lines = [*range(8, 17), *range(18, 30)]
    return [
        FigureRow(code, online, total, online_procedures, total_procedures, line)
        for line, (_, code, online, total, online_procedures, total_procedures) in zip(
            lines, DISTRICT_ROWS + COMMUNE_ROWS, strict=True
        )
    ]


def test_the_plan_table_as_csv_reads_back_all_21_units_of_2021(campaign: Campaign) -> None:
    rows = read_figures(table(plan_table()), campaign, "phu-luc-2.csv")

    assert rows == expected_all_units()
    assert {row.unit for row in rows} == {unit.code for unit in campaign.units}
    assert units_missing(rows, campaign) == ()


@pytest.mark.parametrize("delimiter", [",", ";"])
@pytest.mark.parametrize("bom", [False, True])
def test_the_plan_table_in_any_csv_dialect(campaign: Campaign, delimiter: str, bom: bool) -> None:
    assert read_figures(table(plan_table(), delimiter, bom), campaign) == expected_all_units()


def test_the_plan_table_as_xlsx_with_merged_headers_and_numeric_cells(campaign: Campaign) -> None:
    data = xlsx(plan_table(as_text=False), merges=["A6:A7", "B6:B7", "C6:E6", "F6:H6", "I6:I7"])

    assert read_figures(data, campaign) == expected_all_units()


def test_the_plan_table_as_xlsx_with_text_cells_and_formula_rates(campaign: Campaign) -> None:
    rows = plan_table(as_text=True)
    for line in (8, 9):  # rates as formulas nobody evaluated: data_only gives None, and they are ignored anyway
        rows[line - 1][4] = f"=C{line}/D{line}*100"
        rows[line - 1][7] = f"=F{line}/G{line}*100"

    assert read_figures(xlsx(rows), campaign) == expected_all_units()


def test_the_plans_own_layout_with_the_header_repeated_for_the_communes(campaign: Campaign) -> None:
    """The plan prints a three-row header, and prints it again under "II. CẤP XÃ:"; both are understood."""
    software: list[object] = [
        "STT",
        "Đơn vị",
        "Phần mềm Motcua.dongthap.gov.vn (01/01/2021-30/11/2021)",
        *[None] * 5,
        "Ghi chú",
    ]
    groups: list[object] = [None, None, CASE_FILE_GROUP, None, None, PROCEDURE_GROUP, None, None, None]
    wrapped = [None if cell is None else str(cell).replace(" ", "\n", 1) for cell in SUB_HEADER]  # "Trực\ntuyến"
    rows: list[list[object]] = [*TITLES, [" I. CẤP HUYỆN: "], software, groups, wrapped]  # header on lines 6-8
    rows += [plan_row(number, row) for number, row in enumerate(DISTRICT_ROWS, start=1)]  # 9-17
    rows += [["II. CẤP XÃ:"], [], software, groups, SUB_HEADER]  # 18-22
    rows += [plan_row(number, row) for number, row in enumerate(COMMUNE_ROWS, start=1)]  # 23-34

    result = read_figures(table(rows), campaign)

    assert [row.line for row in result] == [*range(9, 18), *range(23, 35)]
    assert [row.unit for row in result] == [row.unit for row in expected_all_units()]


def test_the_plan_layout_flattened_into_one_header_row(campaign: Campaign) -> None:
    header = ["STT", "Đơn vị", "Trực tuyến", "Tổng", "Tỷ lệ %", "Trực tuyến", "Tổng", "Tỷ lệ %", "Ghi chú"]
    data = table([header, [1, "Phòng Nội vụ (09 thủ tục)", 7, 10, "0", 2, 9, "1000", ""]])

    assert read_figures(data, campaign) == [FigureRow("noi-vu", 7, 10, 2, 9, line=2)]


def test_plan_groups_in_the_other_order_follow_their_titles(campaign: Campaign) -> None:
    """The first pair is the case files as in the plan, unless the group titles say the procedures come first."""
    header = ["STT", "Đơn vị", PROCEDURE_GROUP, None, None, CASE_FILE_GROUP, None, None]
    data = table([header, SUB_HEADER[:8], [1, "Phòng Nội vụ", 6, 9, "", 120, 150, ""]])

    assert read_figures(data, campaign) == [FigureRow("noi-vu", 120, 150, 6, 9, line=3)]


# --- the single-row layouts ----------------------------------------------------------------------------------


def test_english_headers_with_commas(campaign: Campaign) -> None:
    data = english("noi-vu,120,150,6,9", "Phòng Tư pháp,1234,2000,15,21")

    assert read_figures(data, campaign) == [
        FigureRow("noi-vu", 120, 150, 6, 9, line=2),
        FigureRow("tu-phap", 1234, 2000, 15, 21, line=3),
    ]


def test_english_headers_with_semicolons_in_any_order_with_extra_columns_and_quoting(campaign: Campaign) -> None:
    text = (
        "Note;total_procedures;Unit;online_procedures;TOTAL_CASE_FILES;online_case_files\r\n"
        '"first; with a semicolon";9;"Phòng Nội vụ";6;150;120\r\n'
        '"second, with a comma";21;tu-phap;15;2.000;1.234\r\n'
    )

    assert read_figures(text.encode(), campaign) == [
        FigureRow("noi-vu", 120, 150, 6, 9, line=2),
        FigureRow("tu-phap", 1234, 2000, 15, 21, line=3),
    ]


def test_english_headers_with_a_bom(campaign: Campaign) -> None:
    data = b"\xef\xbb\xbf" + english("an-hiep,5,10,1,2")

    assert read_figures(data, campaign) == [FigureRow("an-hiep", 5, 10, 1, 2, line=2)]


def test_header_names_ignore_case_spaces_and_unicode_form(campaign: Campaign) -> None:
    header = ["  UNIT ", "Online Case Files", "total_case_files", " ONLINE_procedures", "Total_Procedures"]
    unit = unicodedata.normalize("NFD", "Phòng Tư pháp")  # a Mac keyboard writes decomposed Vietnamese
    data = table([header, [f"  {unit}  ", 1, 2, 3, 4]])

    assert read_figures(data, campaign) == [FigureRow("tu-phap", 1, 2, 3, 4, line=2)]


@pytest.mark.parametrize(
    "header",
    [
        ["Đơn vị", "Hồ sơ trực tuyến", "Tổng hồ sơ", "TTHC có phát sinh hồ sơ trực tuyến", "Tổng TTHC"],
        ["ĐƠN VỊ", "Số hồ sơ trực tuyến", "Tổng số hồ sơ", "Thủ tục trực tuyến", "Tổng số TTHC"],
        ["đơn  vị", "hồ sơ trực tuyến", "tổng hồ sơ", "TTHC trực tuyến", "Tổng thủ tục"],
        [unicodedata.normalize("NFD", name) for name in ("Đơn vị", "Hồ sơ trực tuyến", "Tổng hồ sơ")]
        + ["TTHC trực tuyến", "Tổng TTHC"],
    ],
)
def test_vietnamese_single_row_headers(campaign: Campaign, header: list[str]) -> None:
    data = table([[*header, "Tỷ lệ %", "Ghi chú"], ["Cái Tàu Hạ", "1.500", "2.000", 4, 5, "75", ""]], ";")

    assert read_figures(data, campaign) == [FigureRow("cai-tau-ha", 1500, 2000, 4, 5, line=2)]


def test_vietnamese_headers_in_another_order_below_title_rows(campaign: Campaign) -> None:
    rows: list[list[object]] = [
        ["BẢNG TỔNG HỢP SỐ LIỆU MỘT CỬA"],
        [],
        ["Tổng TTHC", "Tổng hồ sơ", "Đơn vị", "TTHC trực tuyến", "Hồ sơ trực tuyến"],
        [9, 150, "noi-vu", 6, 120],
    ]

    assert read_figures(table(rows), campaign) == [FigureRow("noi-vu", 120, 150, 6, 9, line=4)]


def test_english_xlsx_with_numeric_and_text_cells(campaign: Campaign) -> None:
    rows: list[list[object]] = [
        [*ENGLISH_HEADER.split(",")],
        ["noi-vu", 120, 150.0, "6", " 9 "],
        ["Phòng Tư pháp", "1.234", 2000, 15, 21.0],
        [None, None, None, None, None],
        ["an-hiep", "12.345.678", "12 345 678", 0, 0],
    ]

    assert read_figures(xlsx(rows), campaign, "motcua.xlsx") == [
        FigureRow("noi-vu", 120, 150, 6, 9, line=2),
        FigureRow("tu-phap", 1234, 2000, 15, 21, line=3),
        FigureRow("an-hiep", 12_345_678, 12_345_678, 0, 0, line=5),
    ]


def test_the_format_is_judged_from_the_bytes_not_the_name(campaign: Campaign) -> None:
    data = xlsx([ENGLISH_HEADER.split(","), ["noi-vu", 1, 2, 3, 4]])

    assert read_figures(data, campaign, "so-lieu.csv") == [FigureRow("noi-vu", 1, 2, 3, 4, line=2)]
    assert read_figures(english("noi-vu,1,2,3,4"), campaign, "so-lieu.xlsx") == [
        FigureRow("noi-vu", 1, 2, 3, 4, line=2)
    ]


def test_a_partial_file_is_not_an_error(campaign: Campaign) -> None:
    rows = read_figures(english("noi-vu,1,2,3,4", "an-hiep,1,2,3,4"), campaign)

    missing = units_missing(rows, campaign)
    assert len(missing) == 19
    assert "noi-vu" not in {unit.code for unit in missing}


def test_a_quoted_line_break_stays_in_its_cell_and_lines_are_counted_as_rows(campaign: Campaign) -> None:
    text = f'{ENGLISH_HEADER},note\nnoi-vu,1,2,3,4,"two\nlines"\nnobody,1,2,3,4,\n'

    error = only_error(text.encode(), campaign)
    assert (error.line, error.code) == (3, "unknown_unit")


# --- counts --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "count"),
    [
        ("0", 0),
        ("007", 7),
        ("1234", 1234),
        ("1.234", 1234),
        ("1 234", 1234),
        ("1\u00a0234", 1234),
        ("12.345.678", 12_345_678),
        ("12 345 678", 12_345_678),
        ("  15  ", 15),
        ("1.000.000.000", 1_000_000_000),
        ("00000000000000000007", 7),
    ],
)
def test_whole_numbers_and_vietnamese_thousands_grouping(campaign: Campaign, written: str, count: int) -> None:
    data = table([ENGLISH_HEADER.split(","), ["an-hiep", written, written, 0, 0]])

    assert read_figures(data, campaign)[0].total_case_files == count


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("12,5", "not_a_whole_number"),
        ("12.5", "not_a_whole_number"),
        ("1.23", "not_a_whole_number"),
        ("1.2345", "not_a_whole_number"),
        ("1234.567", "not_a_whole_number"),
        ("1.234 567", "not_a_whole_number"),
        ("1,234", "not_a_whole_number"),
        ("abc", "not_a_whole_number"),
        ("+3", "not_a_whole_number"),
        ("1e3", "not_a_whole_number"),
        ("١٢", "not_a_whole_number"),
        ("-3", "negative"),
        ("−1.234", "negative"),
        ("", "missing_value"),
        ("   ", "missing_value"),
        ("1.000.000.001", "too_large"),
        ("9" * 5000, "too_large"),  # more digits than Python turns into a number
        ("-" + "9" * 5000, "negative"),
    ],
)
def test_counts_that_are_not_whole_numbers_are_refused(campaign: Campaign, written: str, code: str) -> None:
    data = table([ENGLISH_HEADER.split(","), ["an-hiep", 0, 0, written, 1_000_000_001]])
    row_errors = [error for error in refused(data, campaign) if error.field == "online_procedures"]

    assert codes(row_errors) == [(2, "online_procedures", code)]
    assert row_errors[0].unit == "an-hiep"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (12.5, "not_a_whole_number"),
        (True, "not_a_whole_number"),
        (date(2021, 11, 30), "not_a_whole_number"),
        (-3, "negative"),
        (-3.0, "negative"),
        (None, "missing_value"),
        (10**12, "too_large"),
    ],
)
def test_xlsx_cells_that_are_not_whole_numbers_are_refused(campaign: Campaign, value: object, code: str) -> None:
    data = xlsx([ENGLISH_HEADER.split(","), ["an-hiep", 1, 2, 3, 4], ["noi-vu", value, 10**9, 1, 1]])

    assert codes(refused(data, campaign)) == [(3, "online_case_files", code)]


# --- refusals, each with its line and Vietnamese message -----------------------------------------------------


def test_an_unknown_unit(campaign: Campaign) -> None:
    error = only_error(english("noi-vu,1,2,3,4", "Phòng Nội Vụ,1,2,3,4"), campaign)

    assert error == RowError(
        line=3,
        unit="Phòng Nội Vụ",
        field="unit",
        code="unknown_unit",
        message="Dòng 3: không có đơn vị “Phòng Nội Vụ” trong phong trào.",
    )


@pytest.mark.parametrize(
    "written",
    ["Phòng Giáo dục", "Noi-vu", "Phòng Nội vụ (9 thủ tục) thêm", "Phòng Văn hóa - Thông tin", "(09 thủ tục)"],
)
def test_a_near_miss_is_never_matched(campaign: Campaign, written: str) -> None:
    assert only_error(table([ENGLISH_HEADER.split(","), [written, 1, 2, 3, 4]]), campaign).code == "unknown_unit"


def test_a_unit_twice_is_refused_on_its_second_row_naming_both_lines(campaign: Campaign) -> None:
    data = english("noi-vu,1,2,3,4", "tu-phap,1,2,3,4", "Phòng Nội vụ (09 thủ tục),5,6,7,8")

    error = only_error(data, campaign)
    assert (error.line, error.field, error.code, error.unit) == (
        4,
        "unit",
        "duplicate_unit",
        "Phòng Nội vụ (09 thủ tục)",
    )
    assert error.message.startswith("Dòng 4: đơn vị “Phòng Nội vụ” đã có ở dòng 2")
    assert "dòng 2 và dòng 4" in error.message


def test_online_above_total_for_each_pair(campaign: Campaign) -> None:
    errors = refused(english("noi-vu,151,150,10,9"), campaign)

    assert codes(errors) == [
        (2, "online_case_files", "online_above_total"),
        (2, "online_procedures", "online_above_total"),
    ]
    assert errors[0].message == "Dòng 2: số hồ sơ trực tuyến (151) lớn hơn tổng số hồ sơ (150)."
    assert errors[1].message == "Dòng 2: số TTHC có phát sinh hồ sơ trực tuyến (10) lớn hơn tổng số TTHC (9)."


def test_missing_values(campaign: Campaign) -> None:
    errors = refused(english(",1,2,3,4", "noi-vu,1,,3,"), campaign)

    assert codes(errors) == [
        (2, "unit", "missing_value"),
        (3, "total_case_files", "missing_value"),
        (3, "total_procedures", "missing_value"),
    ]
    assert [error.message for error in errors] == [
        "Dòng 2: thiếu tên đơn vị.",
        "Dòng 3: thiếu tổng số hồ sơ.",
        "Dòng 3: thiếu tổng số TTHC.",
    ]
    assert errors[0].unit is None
    assert errors[1].unit == "noi-vu"


def test_messages_of_bad_counts(campaign: Campaign) -> None:
    errors = refused(english("noi-vu,12.5,-3,abc,1.000.000.001"), campaign)

    assert [error.message for error in errors] == [
        "Dòng 2: số hồ sơ trực tuyến “12.5” không phải số nguyên (viết 1234 hoặc 1.234).",
        "Dòng 2: tổng số hồ sơ “-3” không được là số âm.",
        "Dòng 2: số TTHC có phát sinh hồ sơ trực tuyến “abc” không phải số nguyên (viết 1234 hoặc 1.234).",
        "Dòng 2: tổng số TTHC “1.000.000.001” lớn quá mức cho phép (tối đa 1.000.000.000).",
    ]


def test_every_bad_row_is_reported_at_once_sorted_by_line(campaign: Campaign) -> None:
    data = english(
        "noi-vu,1,2,3,4",  # 2
        "Phòng Nội Vụ,1,2,3,4",  # 3: unknown unit
        "tu-phap,1,2,3,4",  # 4
        "an-hiep,1,-2,3,4",  # 5: negative
        "hoa-tan,1,2,3,4",  # 6
        "an-khanh,1,2,3,4",  # 7
        "tan-phu,30,20,1,1",  # 8: online above total
        "tu-phap,1,2,3,4",  # 9: duplicate of line 4
        "phu-long,x,2,3,",  # 10: two bad cells
    )

    errors = refused(data, campaign)

    assert codes(errors) == [
        (3, "unit", "unknown_unit"),
        (5, "total_case_files", "negative"),
        (8, "online_case_files", "online_above_total"),
        (9, "unit", "duplicate_unit"),
        (10, "online_case_files", "not_a_whole_number"),
        (10, "total_procedures", "missing_value"),
    ]
    assert all(error.message.startswith(f"Dòng {error.line}: ") for error in errors)
    assert "dòng 4" in errors[3].message


def test_errors_of_the_plan_table_name_its_lines(campaign: Campaign) -> None:
    rows = plan_table()
    rows[8 - 1][2] = "150"  # Phòng Nội vụ: 150 online of 150… fine
    rows[9 - 1][1] = "Phòng Tư Pháp (21 thủ tục)"
    rows[20 - 1][5] = "1,5"
    rows[29 - 1][1] = "Hòa Tân"  # An Hiệp's row written as Hòa Tân, already on line 18

    errors = refused(table(rows), campaign)

    assert codes(errors) == [
        (9, "unit", "unknown_unit"),
        (20, "online_procedures", "not_a_whole_number"),
        (29, "unit", "duplicate_unit"),
    ]
    assert errors[0].message == "Dòng 9: không có đơn vị “Phòng Tư Pháp (21 thủ tục)” trong phong trào."
    assert "dòng 18" in errors[2].message


def test_a_section_row_with_counts_is_not_skipped(campaign: Campaign) -> None:
    error = only_error(english("noi-vu,1,2,3,4", "I. CẤP HUYỆN:,1,2,3,4"), campaign)

    assert (error.line, error.code) == (3, "unknown_unit")


def test_the_refusal_is_readable_and_survives_pickling(campaign: Campaign) -> None:
    with pytest.raises(FiguresRefused) as caught:
        read_figures(english("x,1,2,3,4", "y,1,2,3,4"), campaign)

    assert "2 lỗi" in str(caught.value)
    copy = pickle.loads(pickle.dumps(caught.value))
    assert copy.errors == caught.value.errors


# --- refusals of the whole file ------------------------------------------------------------------------------


def test_a_latin1_file_is_not_utf8(campaign: Campaign) -> None:
    data = (ENGLISH_HEADER + "\nnoi-vu,1,2,3,4\nHòa Tân,1,2,3,4\n").encode("latin-1")

    error = only_error(data, campaign, "so-lieu.csv")

    assert (error.line, error.code) == (None, "not_utf8")
    assert error.message == (
        "Tệp “so-lieu.csv” không phải mã UTF-8 (lỗi ở dòng 3); hãy lưu lại dưới dạng “CSV UTF-8” hoặc XLSX."
    )


def test_a_utf16_file_is_not_utf8(campaign: Campaign) -> None:
    data = (ENGLISH_HEADER + "\nnoi-vu,1,2,3,4\n").encode("utf-16")

    assert only_error(data, campaign).code == "not_utf8"


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 100, "ảnh PNG"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "tài liệu PDF"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "tệp Office cũ"),
        (b"abc\x00def", "tệp nhị phân"),
    ],
)
def test_files_that_are_not_tables_are_an_unknown_format(campaign: Campaign, data: bytes, kind: str) -> None:
    error = only_error(data, campaign, "anh.csv")

    assert (error.line, error.unit, error.field, error.code) == (None, None, None, "unknown_format")
    assert error.message.startswith("Tệp “anh.csv” không phải bảng số liệu CSV hay XLSX")
    assert kind in error.message


def test_a_zip_that_is_not_a_workbook_is_an_unknown_format(campaign: Campaign) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")

    assert only_error(buffer.getvalue(), campaign).code == "unknown_format"


def test_a_broken_workbook_is_unreadable(campaign: Campaign) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<not a workbook")
    truncated = xlsx([ENGLISH_HEADER.split(",")])[:300]

    assert only_error(buffer.getvalue(), campaign).code == "unreadable_file"
    assert only_error(truncated, campaign).code == "unreadable_file"


def test_a_workbook_that_would_unpack_too_large_is_refused_before_it_is_opened(
    campaign: Campaign, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = xlsx([ENGLISH_HEADER.split(","), ["noi-vu", 1, 2, 3, 4]])
    monkeypatch.setattr(figures, "MAX_UNPACKED_BYTES", 1000)
    monkeypatch.setattr(figures.openpyxl, "load_workbook", pytest.fail)  # must not be reached

    error = only_error(data, campaign)
    assert error.code == "unreadable_file"
    assert "giải nén quá lớn" in error.message


def test_a_csv_cell_that_never_ends_is_unreadable(campaign: Campaign) -> None:
    data = english('noi-vu,1,2,3,4,"an unclosed quote', *["tu-phap,1,2,3,4"] * 20_000)

    error = only_error(data, campaign)

    assert (error.line, error.code) == (None, "unreadable_file")
    assert "ngoặc kép" in error.message


def test_a_missing_column_is_named(campaign: Campaign) -> None:
    data = b"unit,online_case_files,total_case_files,online_procedures\nnoi-vu,1,2,3\n"

    error = only_error(data, campaign)

    assert (error.line, error.field, error.code) == (None, "total_procedures", "missing_column")
    assert "“Tổng TTHC” (total_procedures)" in error.message
    assert "“Đơn vị”" not in error.message.split("thiếu cột")[1].split(".")[0]


def test_a_plan_table_without_its_sub_headers_misses_the_count_columns(campaign: Campaign) -> None:
    rows: list[list[object]] = [*TITLES, GROUP_HEADER, plan_row(1, DISTRICT_ROWS[0])]

    error = only_error(table(rows), campaign)

    assert (error.code, error.field) == ("missing_column", None)
    for name in ("Hồ sơ trực tuyến", "Tổng hồ sơ", "TTHC trực tuyến", "Tổng TTHC", "Trực tuyến"):
        assert f"“{name}”" in error.message


def test_a_file_without_any_header_is_missing_columns(campaign: Campaign) -> None:
    error = only_error(b"noi-vu,1,2,3,4\ntu-phap,1,2,3,4\n", campaign)

    assert error.code == "missing_column"
    assert "“Đơn vị” (unit)" in error.message


def test_the_header_is_only_searched_in_the_first_15_rows(campaign: Campaign) -> None:
    below = b"title\n" * 15 + english("noi-vu,1,2,3,4")
    within = b"title\n" * 14 + english("noi-vu,1,2,3,4")

    assert only_error(below, campaign).code == "missing_column"
    assert read_figures(within, campaign) == [FigureRow("noi-vu", 1, 2, 3, 4, line=16)]


def test_two_columns_for_one_field_are_refused(campaign: Campaign) -> None:
    data = table([["Đơn vị", "Hồ sơ trực tuyến", "Tổng hồ sơ", "Tổng số hồ sơ", "TTHC trực tuyến", "Tổng TTHC"]])

    error = only_error(data + b"noi-vu,1,2,2,3,4\n", campaign)

    assert (error.line, error.field, error.code) == (1, "total_case_files", "duplicate_column")
    assert "“Tổng hồ sơ” và “Tổng số hồ sơ”" in error.message


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xef\xbb\xbf",
        b"\n\n\r\n",
        b",,,\n,,,,\n",
        b";;;\n;;\n",
        ENGLISH_HEADER.encode(),
        (ENGLISH_HEADER + "\n\n,,,,\n").encode(),
        table([GROUP_HEADER, SUB_HEADER, [None, "I. CẤP HUYỆN:"], [], [None, "II. CẤP XÃ:"]]),
        xlsx([]),
        xlsx([ENGLISH_HEADER.split(",")]),
    ],
)
def test_a_file_without_data_rows_is_empty(campaign: Campaign, data: bytes) -> None:
    error = only_error(data, campaign)

    assert (error.line, error.code) == (None, "empty_file")
    assert error.message.startswith("Tệp ")


def test_a_file_over_5_mb_is_refused_before_reading(campaign: Campaign) -> None:
    data = english("noi-vu,1,2,3,4") + b"\n" + b"\xff" * MAX_BYTES  # would be not_utf8 if it were read

    error = only_error(data, campaign, "lon.csv")

    assert (error.code, error.line) == ("unreadable_file", None)
    assert error.message == "Tệp “lon.csv” quá lớn (5,1 MB); chỉ nhận tệp số liệu đến 5 MB."
    exactly_5_mb = english("noi-vu,1,2,3,4", *[","] * 2000).ljust(MAX_BYTES, b",")  # one very wide last row
    assert read_figures(exactly_5_mb, campaign)[0].unit == "noi-vu"


def test_a_csv_with_more_than_100000_rows_is_refused(campaign: Campaign) -> None:
    rows = [f"nobody-{index},1,2,3,4" for index in range(MAX_ROWS)]  # the header and 100,000 rows: 100,001 in all

    error = only_error(english(*rows), campaign)

    assert (error.code, error.line) == ("unreadable_file", None)
    assert "quá 100.000 dòng" in error.message
    assert "dòng 100.001" in error.message


def test_empty_rows_beyond_the_limit_do_not_count(campaign: Campaign) -> None:
    data = english("noi-vu,1,2,3,4") + b"\n" * (MAX_ROWS + 50)

    assert read_figures(data, campaign) == [FigureRow("noi-vu", 1, 2, 3, 4, line=2)]


def test_an_xlsx_with_content_past_row_100000_is_refused(campaign: Campaign) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(ENGLISH_HEADER.split(","))
    sheet.append(["noi-vu", 1, 2, 3, 4])
    sheet.cell(row=MAX_ROWS + 1, column=1, value="tu-phap")
    buffer = io.BytesIO()
    workbook.save(buffer)

    error = only_error(buffer.getvalue(), campaign)

    assert error.code == "unreadable_file"
    assert "dòng 100.001" in error.message


def test_the_export_of_a_campaign_of_ten_thousand_units_is_read_whole(tmp_path: Path) -> None:
    _, big = write_synthetic_campaign(10_000, seed=7, folder=tmp_path)
    rows = [f"{unit.code},{n},{n + 10},{n % 7},{n % 7 + 3}" for n, unit in enumerate(big.units)]

    read = read_figures(english(*rows), big)

    assert len(read) == 10_000
    assert read[-1] == FigureRow(big.units[-1].code, 9_999, 10_009, 9_999 % 7, 9_999 % 7 + 3, line=10_001)
