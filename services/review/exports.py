"""The Phụ lục 2 table as files people open: CSV (UTF-8 with BOM, for Excel) and XLSX laid out like the plan's."""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

HEADERS = ("STT", "Đơn vị", "Trực tuyến", "Tổng", "Tỷ lệ %", "Trực tuyến", "Tổng", "Tỷ lệ %", "Ghi chú")


def _rows(summary: dict[str, Any]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for section in summary["sections"]:
        rows.append([f"{section['number']}. {section['title']}:"])
        for row in section["rows"]:
            case_files, procedures = row["case_files"], row["procedures"]
            rows.append(
                [
                    row["stt"],
                    row["unit_label"],
                    case_files["online"],
                    case_files["total"],
                    case_files["rate"],
                    procedures["online"],
                    procedures["total"],
                    procedures["rate"],
                    "",
                ]
            )
    return rows


def _group_headers(summary: dict[str, Any]) -> list[str]:
    first, second = summary["targets"][:2]
    return [
        "",
        "",
        f"{first['name']} (từ {first['threshold']} trở lên)",
        "",
        "",
        f"{second['name']} (từ {second['threshold']} trở lên)",
        "",
        "",
        "",
    ]


def summary_csv(summary: dict[str, Any]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([summary["title"]])
    writer.writerow(_group_headers(summary))
    writer.writerow(HEADERS)
    writer.writerows(_rows(summary))
    return "\ufeff".encode() + out.getvalue().encode()


def summary_xlsx(summary: dict[str, Any]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "Phụ lục 2"
    sheet.append([summary["title"]])
    sheet.append(_group_headers(summary))
    sheet.append(list(HEADERS))
    sheet.merge_cells("C2:E2")
    sheet.merge_cells("F2:H2")
    for cell in (*sheet[1], *sheet[2], *sheet[3]):
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    for row in _rows(summary):
        sheet.append(row)
    sheet.column_dimensions["B"].width = 42
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
