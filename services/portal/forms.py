"""The dossier form: its fields (Phụ lục 1 and the self-scored Phụ lục 2 counts), read from a posted form into
the body the intake API takes. Field names are the API's paths (``report.phone``), so the API's field errors
land next to the field they concern without a table of their own."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from werkzeug.datastructures import MultiDict


@dataclass(frozen=True)
class Field:
    path: str
    label: str
    kind: str = "text"  # text, textarea, count, date
    hint: str = ""

    @property
    def section(self) -> str:
        return self.path.split(".")[0]

    @property
    def name(self) -> str:
        return self.path.split(".")[1]

    @property
    def html_id(self) -> str:
        return self.path.replace(".", "-").replace("_", "-")


UNIT_FIELDS = (
    Field("report.address", "Địa điểm trụ sở chính"),
    Field("report.phone", "Điện thoại"),
    Field("report.fax", "Fax"),
    Field("report.website", "Website"),
    Field("report.structure", "Cơ cấu tổ chức", "textarea"),
    Field("report.staff_count", "Tổng số cán bộ, công chức và viên chức", "count"),
    Field("report.functions", "Chức năng, nhiệm vụ được giao", "textarea"),
)
NOMINEE_FIELDS = (
    Field("nominee.full_name", "Họ và tên"),
    Field("nominee.alias", "Bí danh"),
    Field("nominee.date_of_birth", "Ngày, tháng, năm sinh", "date", "Ghi theo dạng ngày/tháng/năm, ví dụ 12/04/1988."),
    Field("nominee.home_town", "Quê quán"),
    Field("nominee.residence", "Trú quán"),
    Field("nominee.occupation", "Nghề nghiệp"),
    Field("nominee.position", "Chức vụ"),
)
ACHIEVEMENT_FIELDS = (
    Field("report.achievements", "Thành tích đạt được", "textarea", "So với các chỉ tiêu đã đăng ký thi đua."),
    Field("report.measures", "Các biện pháp, giải pháp đạt được thành tích", "textarea"),
    Field("report.lessons", "Bài học kinh nghiệm", "textarea"),
)
COUNT_FIELDS = (
    Field("self_assessment.online_case_files", "Số hồ sơ TTHC xử lý trực tuyến mức 4", "count"),
    Field("self_assessment.total_case_files", "Tổng số hồ sơ TTHC", "count"),
    Field("self_assessment.online_procedures", "Số TTHC mức 4 có phát sinh hồ sơ trực tuyến", "count"),
    Field("self_assessment.total_procedures", "Tổng số TTHC mức 4", "count"),
)
# Which counts make which target's rate (the campaign's target codes).
RATES = {
    "case_file_rate": ("self_assessment.online_case_files", "self_assessment.total_case_files"),
    "procedure_coverage": ("self_assessment.online_procedures", "self_assessment.total_procedures"),
}
_DAY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def fields_for(kind: str) -> tuple[Field, ...]:
    if kind == "individual":
        return NOMINEE_FIELDS + ACHIEVEMENT_FIELDS
    return UNIT_FIELDS + ACHIEVEMENT_FIELDS + COUNT_FIELDS


def read_form(kind: str, form: MultiDict[str, str]) -> tuple[dict[str, dict[str, Any]], dict[str, list[str]]]:
    """The API body's sections from the posted form, and the errors found before asking the API.

    An empty field is sent as null, which clears it: the form always shows every field, so what the clerk left
    empty is what they mean."""
    body: dict[str, dict[str, Any]] = {}
    errors: dict[str, list[str]] = {}
    for field in fields_for(kind):
        raw = form.get(field.path, "").strip()
        value, problem = _value(field, raw)
        if problem:
            errors[field.path] = [problem]
        body.setdefault(field.section, {})[field.name] = value
    return body, errors


def form_values(kind: str, dossier: dict[str, Any] | None) -> dict[str, str]:
    """What each field shows: the dossier's value, dates as dd/mm/yyyy."""
    values: dict[str, str] = {}
    for field in fields_for(kind):
        section = (dossier or {}).get(field.section) or {}
        value = section.get(field.name)
        if value is None:
            values[field.path] = ""
        elif field.kind == "date":
            day = date.fromisoformat(str(value))
            values[field.path] = f"{day.day:02d}/{day.month:02d}/{day.year:04d}"
        else:
            values[field.path] = str(value)
    return values


def _value(field: Field, raw: str) -> tuple[Any, str | None]:
    if not raw:
        return None, None
    if field.kind == "count":
        digits = raw.replace(".", "").replace(" ", "")  # "1.000" is how a clerk writes a thousand
        if not digits.isdigit():
            return None, "Vui lòng nhập một số nguyên không âm, ví dụ 1000."
        return int(digits), None
    if field.kind == "date":
        day = read_day(raw)
        if day is None:
            return None, "Vui lòng ghi ngày theo dạng ngày/tháng/năm, ví dụ 12/04/1988."
        return day.isoformat(), None
    return raw, None


def read_day(raw: str) -> date | None:
    """A day as a Vietnamese clerk writes it, dd/mm/yyyy; None when it is not one."""
    found = _DAY.match(raw.strip())
    if found is None:
        return None
    try:
        return date(int(found.group(3)), int(found.group(2)), int(found.group(1)))
    except ValueError:
        return None
