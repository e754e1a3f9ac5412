"""The one-stop shop's official figures (Phụ lục 2), read from the file Culture & Information imports.

The one-stop-shop system (Motcua.dongthap.gov.vn) exports the four counts of the data window for every unit: case
files handled online at level 4 and all case files, level-4 procedures that had an online case file and all level-4
procedures. :func:`read_figures` reads such an export, CSV or XLSX, and gives one :class:`FigureRow` per unit.

What a file *is* is judged from its bytes, never from its name: an XLSX is a ZIP that openpyxl opens (its first
worksheet is read), anything else must be UTF-8 text (with or without a BOM) separated by commas or semicolons.
Three header layouts are understood, the header being searched in the first 15 rows so that title rows above it
("BẢNG TỔNG HỢP KẾT QUẢ …") do not matter:

1. English column names: ``unit``, ``online_case_files``, ``total_case_files``, ``online_procedures``,
   ``total_procedures``, in any order;
2. the same columns with Vietnamese names ("Đơn vị", "Hồ sơ trực tuyến", "Tổng hồ sơ", "TTHC trực tuyến",
   "Tổng TTHC", and the variants in :data:`COLUMN_NAMES`);
3. the plan's own Phụ lục 2 table: "Đơn vị", then two groups of "Trực tuyến / Tổng / Tỷ lệ %" in the same row or
   in one of the two rows below it, the first group being the case files and the second the procedures (unless the
   group titles above them say the opposite). "STT", "Ghi chú" and the "Tỷ lệ %" columns are ignored: a rate is
   always computed from the counts, never taken from a file.

Header names are compared without regard to case, spaces, underscores or Unicode form; other columns are ignored.
Section rows ("I. CẤP HUYỆN:", "II. CẤP XÃ:"), empty rows and the header repeated in the middle of the table (as the
plan's second table repeats it under "II. CẤP XÃ:") are skipped.

A file is all or nothing: if any row is bad, the whole file is refused with :class:`FiguresRefused`, listing every
bad row and why at once, so that the clerk fixes the export in one go instead of one error per upload. A unit of
the campaign that is missing from the file is *not* an error — an import may be partial (a unit with no figures
yet is simply not ranked); :func:`units_missing` tells which units a good file left out, for the caller to show.

Nothing is trusted about the size of a file: more than :data:`MAX_BYTES` bytes, more than :data:`MAX_ROWS` rows
with content, or an XLSX that would unpack to more than :data:`MAX_UNPACKED_BYTES` is refused before it is read
further; the rows are read one at a time and only the first :data:`MAX_COLUMNS` columns are looked at.
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
import zipfile
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass
from itertools import chain, islice
from typing import Literal

import openpyxl

from shared.campaigns import Campaign, Unit

__all__ = [
    "COLUMN_NAMES",
    "COUNT_FIELDS",
    "FIELDS",
    "MAX_BYTES",
    "MAX_COLUMNS",
    "MAX_COUNT",
    "MAX_ROWS",
    "MAX_UNPACKED_BYTES",
    "FigureRow",
    "FiguresRefused",
    "RowError",
    "read_figures",
    "units_missing",
]

MAX_BYTES = 5 * 1024 * 1024
"""The largest file accepted (5 MB): an export of a district's units is a few kilobytes."""
MAX_ROWS = 100_000
"""The last row of a file with anything in it may be at most this row: a campaign of every commune in the country
(about 10,000) fits, titles and sections included, ten times over."""
MAX_UNPACKED_BYTES = 50 * 1024 * 1024
"""What the parts of an XLSX may unpack to at most, so that a small ZIP cannot unpack to gigabytes."""
MAX_COLUMNS = 100
"""Only the first columns are read: the five that matter are never that far to the right."""
MAX_COUNT = 10**9
"""The largest count believed, the same bound as a unit's self-assessment (a bigger one is a wrong cell)."""
HEADER_SEARCH_ROWS = 15
"""The header is searched in the first rows, below any title rows."""

COUNT_FIELDS = ("online_case_files", "total_case_files", "online_procedures", "total_procedures")
FIELDS = ("unit", *COUNT_FIELDS)

COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "unit": ("unit", "đơn vị"),
    "online_case_files": ("online_case_files", "hồ sơ trực tuyến", "số hồ sơ trực tuyến"),
    "total_case_files": ("total_case_files", "tổng hồ sơ", "tổng số hồ sơ"),
    "online_procedures": (
        "online_procedures",
        "tthc có phát sinh hồ sơ trực tuyến",
        "thủ tục trực tuyến",
        "tthc trực tuyến",
    ),
    "total_procedures": ("total_procedures", "tổng tthc", "tổng số tthc", "tổng thủ tục"),
}
"""The header names of each field in the single-row layouts, English and Vietnamese (compared loosely)."""

# How each field is named to people: in messages, and the column name to use when one is missing.
_LABELS = {
    "unit": "tên đơn vị",
    "online_case_files": "số hồ sơ trực tuyến",
    "total_case_files": "tổng số hồ sơ",
    "online_procedures": "số TTHC có phát sinh hồ sơ trực tuyến",
    "total_procedures": "tổng số TTHC",
}
_COLUMN_TITLES = {
    "unit": "Đơn vị",
    "online_case_files": "Hồ sơ trực tuyến",
    "total_case_files": "Tổng hồ sơ",
    "online_procedures": "TTHC trực tuyến",
    "total_procedures": "Tổng TTHC",
}
_PAIRS = (("online_case_files", "total_case_files"), ("online_procedures", "total_procedures"))

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_OTHER_MAGICS = (
    (b"\x89PNG\r\n\x1a\n", "ảnh PNG"),
    (b"\xff\xd8\xff", "ảnh JPEG"),
    (b"GIF8", "ảnh GIF"),
    (b"%PDF-", "tài liệu PDF"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "tệp Office cũ (XLS, DOC) hoặc bảng tính có mật khẩu"),
    (b"Rar!", "tệp nén RAR"),
    (b"7z\xbc\xaf\x27\x1c", "tệp nén 7z"),
    (b"\x1f\x8b", "tệp nén gzip"),
    (b"MZ", "tệp chương trình"),
    (b"\x7fELF", "tệp chương trình"),
)
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff")  # UTF-16 and UTF-32: Excel's "Unicode text"

_SECTION = re.compile(r"[IVX]+\.")
_PROCEDURE_COUNT = re.compile(r"\s*\(\s*\d+\s*thủ\s+tục\s*\)\s*$", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
# A whole number: plain digits, or Vietnamese thousands grouping with one separator ("1.234", "1 234", "12.345.678").
_WHOLE = re.compile(r"([-−]?)([0-9]+|[0-9]{1,3}(?:([. \u00a0\u202f])[0-9]{3})(?:\3[0-9]{3})*)")

_ONLINE_KEY = "trựctuyến"
_TOTAL_KEY = "tổng"

ErrorCode = Literal[
    "unknown_unit",
    "duplicate_unit",
    "not_a_whole_number",
    "negative",
    "too_large",
    "online_above_total",
    "missing_value",
    "missing_column",
    "duplicate_column",
    "unreadable_file",
    "empty_file",
    "not_utf8",
    "unknown_format",
]


# --- the result ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FigureRow:
    """One unit's official counts; ``line`` is its row in the file (1-based, as a spreadsheet numbers it)."""

    unit: str  # the unit's code
    online_case_files: int
    total_case_files: int
    online_procedures: int
    total_procedures: int
    line: int


@dataclass(frozen=True)
class RowError:
    """One reason a file was refused; ``line`` is None for a problem with the whole file."""

    line: int | None
    unit: str | None  # the unit cell as written, when there is one
    field: str | None  # "unit", "online_case_files", … or None
    code: str  # stable, English
    message: str  # Vietnamese, for the clerk


class FiguresRefused(Exception):
    """The file was refused whole; ``errors`` lists every problem, sorted by line (whole-file problems first)."""

    def __init__(self, errors: Iterable[RowError]) -> None:
        self.errors = sorted(errors, key=_error_order)
        shown = "; ".join(error.message for error in self.errors[:5])
        more = f" (và {len(self.errors) - 5} lỗi khác)" if len(self.errors) > 5 else ""
        super().__init__(f"Tệp số liệu bị từ chối, {len(self.errors)} lỗi: {shown}{more}")

    def __reduce__(self) -> tuple[type[FiguresRefused], tuple[list[RowError]]]:
        return (type(self), (self.errors,))


def _error_order(error: RowError) -> tuple[int, int, int]:
    field = FIELDS.index(error.field) if error.field in FIELDS else -1
    return (0 if error.line is None else 1, error.line or 0, field)


class _Refusal(Exception):
    """A problem with the whole file: reading stops at once."""

    def __init__(self, code: ErrorCode, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.error = RowError(line=None, unit=None, field=field, code=code, message=message)


# --- reading -------------------------------------------------------------------------------------------------


def read_figures(data: bytes, campaign: Campaign, filename: str | None = None) -> list[FigureRow]:
    """The rows of a one-stop-shop export, one per unit in file order; raises :class:`FiguresRefused`.

    ``filename`` is only shown in messages; the format is judged from the bytes. Units of the campaign that the
    file does not mention are not an error (a partial import is allowed): see :func:`units_missing`.
    """
    the_file = _the_file(filename)
    try:
        if len(data) > MAX_BYTES:
            raise _Refusal(
                "unreadable_file",
                f"{the_file} quá lớn ({_megabytes(len(data))} MB); chỉ nhận tệp số liệu đến "
                f"{_megabytes(MAX_BYTES)} MB.",
            )
        if not data:
            raise _Refusal("empty_file", f"{the_file} không có nội dung.")
        rows = _xlsx_rows(data, the_file) if data.startswith(_ZIP_MAGIC) else _text_rows(data, the_file)
        try:
            return _read_rows(_bounded(rows, the_file), campaign, the_file)
        finally:
            rows.close()
    except _Refusal as refusal:
        raise FiguresRefused([refusal.error]) from None


def units_missing(rows: Iterable[FigureRow], campaign: Campaign) -> tuple[Unit, ...]:
    """The units of the campaign a (good) file gave no figures for, in the campaign's order."""
    present = {row.unit for row in rows}
    return tuple(unit for unit in campaign.units if unit.code not in present)


Row = Sequence[object]
Rows = Generator[tuple[int, Row], None, None]
_Refuse = Callable[[str, ErrorCode, str], None]  # records one error of the row being read


def _read_rows(rows: Rows, campaign: Campaign, the_file: str) -> list[FigureRow]:
    head = list(islice(rows, HEADER_SEARCH_ROWS + 2))
    layout = _find_layout(head)
    if isinstance(layout, _NoHeader):
        if not any(_filled(cells) for _, cells in head) and not any(_filled(cells) for _, cells in rows):
            raise _Refusal("empty_file", f"{the_file} không có dòng nào có nội dung.")
        raise layout.refusal()
    if isinstance(layout, _BadHeader):
        raise FiguresRefused(layout.errors)
    body = chain((row for row in head if row[0] > layout.body_after), rows)
    reader = _Body(layout, campaign)
    for line, cells in body:
        reader.read(line, cells)
    if not reader.data_rows:
        raise _Refusal(
            "empty_file",
            f"{the_file} chỉ có dòng tiêu đề (dòng {layout.header_line}), không có dòng số liệu nào bên dưới.",
        )
    if reader.errors:
        raise FiguresRefused(reader.errors)
    return reader.figures


class _Body:
    """Reads the rows below the header, one at a time, keeping every error."""

    def __init__(self, layout: _Layout, campaign: Campaign) -> None:
        self.layout = layout
        self.campaign = campaign
        self.figures: list[FigureRow] = []
        self.errors: list[RowError] = []
        self.data_rows = 0
        self._first_line: dict[str, int] = {}  # unit code -> the line it was first seen on
        self._repeated_header = 0  # rows of a repeated header block still to skip

    def read(self, line: int, cells: Row) -> None:
        columns = self.layout.columns
        unit_value = _cell(cells, columns["unit"])
        unit_text = _text(unit_value)
        values = {field: _cell(cells, columns[field]) for field in COUNT_FIELDS}
        no_counts = all(_text(value) == "" for value in values.values())
        if self._skipped(unit_text, no_counts, cells):
            return
        self.data_rows += 1
        errors: list[RowError] = []

        def refuse(field: str, code: ErrorCode, message: str) -> None:
            errors.append(RowError(line, unit_text or None, field, code, f"Dòng {line}: {message}"))

        unit = self._unit(unit_text, line, refuse)
        counts: dict[str, int] = {}
        for field in COUNT_FIELDS:
            count = _count(values[field])
            if isinstance(count, int):
                counts[field] = count
                continue
            label, written = _LABELS[field], _text(values[field])
            if count == "missing_value":
                refuse(field, count, f"thiếu {label}.")
            elif count == "negative":
                refuse(field, count, f"{label} “{written}” không được là số âm.")
            elif count == "too_large":
                refuse(field, count, f"{label} “{written}” lớn quá mức cho phép (tối đa {_number(MAX_COUNT)}).")
            else:
                refuse(field, count, f"{label} “{written}” không phải số nguyên (viết 1234 hoặc 1.234).")
        for online, total in _PAIRS:
            if online in counts and total in counts and counts[online] > counts[total]:
                refuse(
                    online,
                    "online_above_total",
                    f"{_LABELS[online]} ({_number(counts[online])}) lớn hơn {_LABELS[total]} "
                    f"({_number(counts[total])}).",
                )
        if errors:
            self.errors.extend(errors)
        elif unit is not None:
            self.figures.append(FigureRow(unit=unit.code, line=line, **counts))

    def _skipped(self, unit_text: str, no_counts: bool, cells: Row) -> bool:
        """Empty rows, section rows and a header repeated in the table carry no figures."""
        if _key(unit_text) in _UNIT_KEYS and not _has_number(cells):
            # The plan's second table repeats its header (over up to two more rows) below "II. CẤP XÃ:".
            self._repeated_header = 2
            return True
        if self._repeated_header and unit_text == "" and not _has_number(cells):
            self._repeated_header -= 1
            return True
        self._repeated_header = 0
        if unit_text == "" and no_counts:
            return True  # nothing the import reads (an STT or a note alone does not make a row)
        return no_counts and _SECTION.match(unit_text) is not None

    def _unit(self, text: str, line: int, refuse: _Refuse) -> Unit | None:
        if text == "":
            refuse("unit", "missing_value", f"thiếu {_LABELS['unit']}.")
            return None
        unit = _find_unit(self.campaign, text)
        if unit is None:
            refuse("unit", "unknown_unit", f"không có đơn vị “{text}” trong phong trào.")
            return None
        first = self._first_line.setdefault(unit.code, line)
        if first != line:
            refuse(
                "unit",
                "duplicate_unit",
                f"đơn vị “{unit.name}” đã có ở dòng {first}; mỗi đơn vị chỉ được một dòng "
                f"(dòng {first} và dòng {line}).",
            )
            return None
        return unit


def _find_unit(campaign: Campaign, text: str) -> Unit | None:
    """By code, exact name or alias; also "Phòng Nội vụ (09 thủ tục)", the plan's name with its procedure count."""
    name = _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()
    unit = campaign.find_unit(name)
    if unit is None:
        bare = _PROCEDURE_COUNT.sub("", name)
        if bare and bare != name:
            unit = campaign.find_unit(bare)
    return unit


# --- counts --------------------------------------------------------------------------------------------------


def _count(value: object) -> int | ErrorCode:
    """A count from a cell: the number, or why it is not one."""
    number: int
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return "missing_value"
    if isinstance(value, bool):
        return "not_a_whole_number"
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            return "not_a_whole_number"
        number = int(value)
    elif isinstance(value, str):
        match = _WHOLE.fullmatch(value.strip())
        if match is None:
            return "not_a_whole_number"
        digits = re.sub(r"[^0-9]", "", match.group(2)).lstrip("0") or "0"
        if len(digits) > len(str(MAX_COUNT)):  # past any count, and maybe past the digits Python turns into a number
            return "negative" if match.group(1) else "too_large"
        number = -int(digits) if match.group(1) else int(digits)
    else:  # a date, a time…
        return "not_a_whole_number"
    if number < 0:
        return "negative"
    if number > MAX_COUNT:
        return "too_large"
    return number


def _has_number(cells: Row) -> bool:
    """Whether any cell holds a whole number (negative or too large included): header rows hold none."""
    return any(_count(value) not in ("missing_value", "not_a_whole_number") for value in cells)


# --- the header ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    columns: dict[str, int]  # field -> column (0-based)
    header_line: int
    body_after: int  # the last line of the header


@dataclass(frozen=True)
class _BadHeader:
    """A header was found on ``line`` but cannot be used (two columns for one field)."""

    line: int
    errors: list[RowError]


@dataclass(frozen=True)
class _NoHeader:
    """No header was found; ``found`` is what the best candidate row had."""

    line: int | None
    found: frozenset[str]

    def refusal(self) -> _Refusal:
        missing = [field for field in FIELDS if field not in self.found]
        names = ", ".join(f"“{_COLUMN_TITLES[field]}” ({field})" for field in missing)
        where = f" (dòng {self.line} gần giống dòng tiêu đề nhất)" if self.line is not None else ""
        return _Refusal(
            "missing_column",
            f"Không tìm thấy dòng tiêu đề có đủ các cột trong {HEADER_SEARCH_ROWS} dòng đầu của tệp{where}: "
            f"thiếu cột {names}. Tệp theo mẫu Phụ lục 2 cần cột “Đơn vị” và hai nhóm cột “Trực tuyến”, “Tổng”, "
            "“Tỷ lệ %” (nhóm đầu là hồ sơ TTHC, nhóm sau là TTHC).",
            field=missing[0] if len(missing) == 1 else None,
        )


def _find_layout(head: list[tuple[int, Row]]) -> _Layout | _BadHeader | _NoHeader:
    """The first of the first rows that is a header of one of the three layouts."""
    best = _NoHeader(None, frozenset())
    for index, (line, cells) in enumerate(head[:HEADER_SEARCH_ROWS]):
        named = _named_columns(cells)
        if len(named) == len(FIELDS):
            return _single_row(line, cells, named)
        if len(named.get("unit", ())) == 1:
            unit_column = named["unit"][0]
            for sub_index in range(index, min(index + 3, len(head))):
                sub_line, sub_cells = head[sub_index]
                pairs = _sub_headers(sub_cells, unit_column)
                if pairs is not None:
                    titles = [cells for _, cells in head[index:sub_index]]
                    first, second = _in_order(pairs, titles, unit_column)
                    columns = {"unit": unit_column}
                    columns.update(zip(_PAIRS[0], first, strict=True))
                    columns.update(zip(_PAIRS[1], second, strict=True))
                    return _Layout(columns, header_line=line, body_after=sub_line)
        if len(named) > len(best.found):
            best = _NoHeader(line, frozenset(named))
    return best


def _single_row(line: int, cells: Row, named: dict[str, list[int]]) -> _Layout | _BadHeader:
    errors = []
    for field, columns in named.items():
        if len(columns) > 1:
            written = " và ".join(f"“{_text(cells[column])}”" for column in columns)
            message = f"Dòng {line}: có {len(columns)} cột cho {_LABELS[field]} ({written}); hãy giữ một cột."
            errors.append(RowError(line, None, field, "duplicate_column", message))
    if errors:
        return _BadHeader(line, errors)
    return _Layout({field: columns[0] for field, columns in named.items()}, header_line=line, body_after=line)


def _named_columns(cells: Row) -> dict[str, list[int]]:
    named: dict[str, list[int]] = {}
    for column, value in enumerate(cells):
        field = _FIELD_BY_KEY.get(_key(value))
        if field is not None:
            named.setdefault(field, []).append(column)
    return named


def _sub_headers(cells: Row, unit_column: int) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """The two (Trực tuyến, Tổng) column pairs of the Phụ lục 2 sub-header row, if this is one."""
    keys = [(column, _key(value)) for column, value in enumerate(cells) if column != unit_column]
    online = [column for column, key in keys if key == _ONLINE_KEY]
    total = [column for column, key in keys if key == _TOTAL_KEY]
    if len(online) != 2 or len(total) != 2 or not online[0] < total[0] < online[1] < total[1]:
        return None
    return (online[0], total[0]), (online[1], total[1])


def _in_order(
    pairs: tuple[tuple[int, int], tuple[int, int]], titles: list[Row], unit_column: int
) -> tuple[tuple[int, int], tuple[int, int]]:
    """The case-file pair first: the plan's order, unless the group titles above the pairs say the opposite."""
    starts = (unit_column + 1, pairs[0][1] + 1)
    kinds = []
    for (online, _), start in zip(pairs, starts, strict=True):
        found = {_group_kind(cells[column]) for cells in titles for column in range(start, min(online + 1, len(cells)))}
        found.discard(None)
        kinds.append(found.pop() if len(found) == 1 else None)
    first, second = kinds
    says_swapped = first == "procedures" or second == "case_files"
    says_in_order = first == "case_files" or second == "procedures"
    swapped = says_swapped and not says_in_order
    return (pairs[1], pairs[0]) if swapped else pairs


def _group_kind(value: object) -> str | None:
    key = _key(value)
    if "phátsinh" in key:  # "Tỷ lệ TTHC cung cấp trực tuyến mức 4 có phát sinh hồ sơ trong năm"
        return "procedures"
    if "hồsơ" in key:  # "Tỷ lệ hồ sơ TTHC được xử lý trực tuyến mức 4 trong năm"
        return "case_files"
    return None


# --- cells ---------------------------------------------------------------------------------------------------


def _text(value: object) -> str:
    """A cell as text, as a person reads it (12.0 in a spreadsheet is "12")."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFC", str(value)).strip()


def _key(value: object) -> str:
    """A header name compared loosely: case, spaces, underscores and Unicode form do not matter."""
    folded = unicodedata.normalize("NFC", unicodedata.normalize("NFC", _text(value)).casefold())
    return re.sub(r"[\s_]+", "", folded)


def _cell(cells: Row, column: int) -> object:
    return cells[column] if column < len(cells) else None


def _filled(cells: Row) -> bool:
    return any(_text(value) != "" for value in cells)


_FIELD_BY_KEY = {_key(name): field for field, names in COLUMN_NAMES.items() for name in names}
_UNIT_KEYS = frozenset(_key(name) for name in COLUMN_NAMES["unit"])


# --- sources -------------------------------------------------------------------------------------------------


def _bounded(rows: Rows, the_file: str) -> Rows:
    """The rows, refusing a file whose content goes on past :data:`MAX_ROWS` (empty rows beyond do not count)."""
    for line, cells in rows:
        if line > MAX_ROWS:
            if _filled(cells):
                raise _Refusal(
                    "unreadable_file",
                    f"{the_file} có quá {_number(MAX_ROWS)} dòng (dòng {_number(line)} vẫn còn dữ liệu); "
                    f"chỉ nhận tệp số liệu đến {_number(MAX_ROWS)} dòng.",
                )
            continue
        yield line, cells


def _xlsx_rows(data: bytes, the_file: str) -> Rows:
    """The first worksheet's rows; the ZIP directory is checked before anything is unpacked.

    Lazy: nothing is opened until the first row is asked for, and closing the generator closes the workbook.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
    except Exception:  # untrusted bytes: whatever stops zipfile means the file cannot be read
        raise _Refusal("unreadable_file", f"{the_file} là tệp nén bị hỏng, không đọc được.") from None
    names = {part.filename.casefold() for part in parts}
    if "xl/workbook.xml" not in names:
        raise _Refusal("unknown_format", _not_a_table(the_file, "tệp nén ZIP hoặc tài liệu Office khác"))
    unpacked = sum(part.file_size for part in parts)  # zipfile never unpacks more than these declared sizes
    if unpacked > MAX_UNPACKED_BYTES:
        raise _Refusal(
            "unreadable_file",
            f"{the_file} khi giải nén quá lớn ({_megabytes(unpacked)} MB, tối đa "
            f"{_megabytes(MAX_UNPACKED_BYTES)} MB); hãy chỉ để bảng số liệu trong tệp.",
        )
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # untrusted bytes: openpyxl fails in many ways (KeyError, XML errors…)
        raise _Refusal("unreadable_file", _broken_xlsx(the_file)) from None
    try:
        if workbook.worksheets:
            rows = workbook.worksheets[0].iter_rows(min_row=1, max_col=MAX_COLUMNS, values_only=True)
            yield from enumerate(rows, start=1)
    except Exception:  # a sheet whose XML breaks part-way
        raise _Refusal("unreadable_file", _broken_xlsx(the_file)) from None
    finally:
        workbook.close()


def _text_rows(data: bytes, the_file: str) -> Rows:
    """The records of a UTF-8 CSV, numbered as a spreadsheet shows them (a quoted line break stays in its cell)."""
    for magic, kind in _OTHER_MAGICS:
        if data.startswith(magic):
            raise _Refusal("unknown_format", _not_a_table(the_file, kind))
    if data.startswith(_WIDE_BOMS):
        raise _Refusal("not_utf8", _not_utf8(the_file, "là văn bản UTF-16 (“Unicode Text”)"))
    if b"\x00" in data:
        raise _Refusal("unknown_format", _not_a_table(the_file, "tệp nhị phân không rõ loại"))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise _Refusal("not_utf8", _not_utf8(the_file, f"không phải mã UTF-8 (lỗi ở dòng {_number(line)})")) from None
    return _csv_rows(text, _delimiter(text, the_file), the_file)


def _csv_rows(text: str, delimiter: str, the_file: str) -> Rows:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for line, record in enumerate(reader, start=1):
            yield line, record[:MAX_COLUMNS]
    except csv.Error:  # a cell longer than csv.field_size_limit() (128 KB): no export has one
        raise _Refusal(
            "unreadable_file",
            f"{the_file} không đọc được như bảng CSV: ô ở dòng {_number(reader.line_num)} dài bất thường "
            "(có thể thiếu dấu ngoặc kép đóng).",
        ) from None


def _delimiter(text: str, the_file: str) -> str:
    """ "," or ";": the one under which a header is found; failing that, the one splitting the first row more."""
    found: dict[str, int] = {}
    first_row: dict[str, int] = {}
    for delimiter in (",", ";"):
        head = list(islice(_csv_rows(text, delimiter, the_file), HEADER_SEARCH_ROWS + 2))
        layout = _find_layout(head)
        if not isinstance(layout, _NoHeader):
            header_line = layout.header_line if isinstance(layout, _Layout) else layout.line
            found[delimiter] = len(dict(head)[header_line])
        first_row[delimiter] = next((len(cells) for _, cells in head if cells), 0)
    candidates = found or first_row
    return max(candidates, key=lambda delimiter: (candidates[delimiter], delimiter == ","))


# --- words ---------------------------------------------------------------------------------------------------


def _the_file(filename: str | None) -> str:
    if filename is None or not filename.strip():
        return "Tệp"
    return f"Tệp “{unicodedata.normalize('NFC', filename).strip()}”"


def _not_a_table(the_file: str, kind: str) -> str:
    return (
        f"{the_file} không phải bảng số liệu CSV hay XLSX (đây là {kind}); hãy xuất số liệu từ phần mềm một cửa "
        "dưới dạng XLSX hoặc CSV UTF-8."
    )


def _not_utf8(the_file: str, what: str) -> str:
    return f"{the_file} {what}; hãy lưu lại dưới dạng “CSV UTF-8” hoặc XLSX."


def _broken_xlsx(the_file: str) -> str:
    return f"{the_file} là bảng tính XLSX bị hỏng, không đọc được; hãy mở bằng Excel và lưu lại."


def _number(value: int) -> str:
    """Vietnamese grouping: 1.234.567."""
    return f"{value:,}".replace(",", ".")


def _megabytes(size: int) -> str:
    """A byte count in MB the Vietnamese way, rounded up so that a file just over 5 MB never shows as "5": "5,1"."""
    tenths = math.ceil(size * 10 / (1024 * 1024))
    return f"{tenths // 10},{tenths % 10}" if tenths % 10 else str(tenths // 10)
