"""Errors as ``application/problem+json``: a stable English ``code``, a Vietnamese ``detail`` a clerk can act
on, and for invalid input the errors of each field, each with its own code and Vietnamese message.

marshmallow words its messages in English. Messages raised by the project's own schemas are
:class:`FieldMessage` (a ``str`` with a ``code``); marshmallow's own are translated here from its stable default
texts, so every field error reaches the user in Vietnamese.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask import Response, json


class Problem(Exception):
    """An error the API answers with; raise it anywhere below a route."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        errors: Mapping[str, Any] | None = None,
        debug: str | None = None,
        **extra: Any,
    ):
        super().__init__(f"{status} {code}: {debug or detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors
        self.extra = extra

    def about(self, field: str) -> Problem:
        """The same refusal, said of one field of a request that carried several (e.g. one file of an upload)."""
        return Problem(
            self.status,
            self.code,
            self.detail,
            errors={field: [{"code": self.code, "message": self.detail}]},
            **self.extra,
        )

    def response(self) -> Response:
        body: dict[str, Any] = {
            "type": f"https://thidua.invalid/problems/{self.code}",
            "title": _TITLES.get(self.status, "Lỗi"),
            "status": self.status,
            "code": self.code,
            "detail": self.detail,
            **self.extra,
        }
        if self.errors is not None:
            body["errors"] = self.errors
        response = Response(
            json.dumps(body, ensure_ascii=False), status=self.status, mimetype="application/problem+json"
        )
        if self.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="thidua"'
        return response


class FieldMessage(str):
    """A Vietnamese validation message that knows its stable code."""

    code: str

    def __new__(cls, code: str, message: str) -> FieldMessage:
        obj = super().__new__(cls, message)
        obj.code = code
        return obj


def validation_problem(messages: Mapping[str, Any] | list[Any], location: str = "json") -> Problem:
    return Problem(
        400,
        "validation_failed",
        "Dữ liệu gửi lên chưa hợp lệ; xem lỗi của từng trường.",
        errors=field_errors(messages) if isinstance(messages, Mapping) else {"_schema": _coded(messages)},
        location=location,
    )


def field_errors(messages: Mapping[str, Any], prefix: str = "") -> dict[str, list[dict[str, str]]]:
    """Flatten marshmallow's nested messages to ``{"a.b": [{"code", "message"}]}``."""
    flat: dict[str, list[dict[str, str]]] = {}
    for key, value in messages.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(field_errors(value, f"{path}."))
        else:
            flat[path] = _coded(value if isinstance(value, list) else [value])
    return flat


def _coded(messages: list[Any]) -> list[dict[str, str]]:
    coded = []
    for message in messages:
        if isinstance(message, FieldMessage):
            coded.append({"code": message.code, "message": str(message)})
        else:
            code, text = translate(str(message))
            coded.append({"code": code, "message": text})
    return coded


# marshmallow's default messages, matched whole; groups carry the numbers and choices into the Vietnamese text.
_TRANSLATIONS: tuple[tuple[str, str, str], ...] = (
    (r"Missing data for required field\.", "required", "Trường này là bắt buộc."),
    (r"Field may not be null\.", "null", "Trường này không được để trống."),
    (r"Unknown field\.", "unknown_field", "Trường này không được chấp nhận."),
    (r"Not a valid integer\.", "invalid_integer", "Phải là một số nguyên."),
    (r"Not a valid number\.", "invalid_number", "Phải là một số."),
    (r"Not a valid string\.", "invalid_string", "Phải là một chuỗi ký tự."),
    (r"Not a valid boolean\.", "invalid_boolean", "Phải là đúng hoặc sai (true/false)."),
    (r"Not a valid date\.", "invalid_date", "Ngày không hợp lệ (định dạng YYYY-MM-DD)."),
    (r"Not a valid datetime\.", "invalid_datetime", "Thời điểm không hợp lệ (định dạng ISO 8601)."),
    (r"Not a valid aware datetime\.", "invalid_datetime", "Thời điểm phải có múi giờ (ISO 8601)."),
    (r"Not a valid email address\.", "invalid_email", "Địa chỉ thư điện tử không hợp lệ."),
    (r"Not a valid URL\.", "invalid_url", "Địa chỉ trang web không hợp lệ."),
    (r"Not a valid UUID\.", "invalid_uuid", "Mã định danh không hợp lệ."),
    (r"Not a valid list\.", "invalid_list", "Phải là một danh sách."),
    (r"Not a valid mapping type\.", "invalid_object", "Phải là một đối tượng."),
    (r"Invalid input type\.", "invalid_type", "Kiểu dữ liệu không hợp lệ."),
    (r"Invalid JSON body\.", "invalid_json", "Nội dung gửi lên không phải JSON hợp lệ."),
    (r"Invalid value\.", "invalid_value", "Giá trị không hợp lệ."),
    (
        r"Must be greater than or equal to (\S+) and less than or equal to (\S+)\.",
        "out_of_range",
        "Phải từ {0} đến {1}.",
    ),
    (
        r"Must be (greater than(?: or equal to)?) (\S+) and (less than(?: or equal to)?) (\S+)\.",
        "out_of_range",
        "Phải {0} {1} và {2} {3}.",
    ),
    (r"Must be greater than or equal to (\S+)\.", "too_small", "Phải lớn hơn hoặc bằng {0}."),
    (r"Must be less than or equal to (\S+)\.", "too_large", "Phải nhỏ hơn hoặc bằng {0}."),
    (r"Must be greater than (\S+)\.", "too_small", "Phải lớn hơn {0}."),
    (r"Must be less than (\S+)\.", "too_large", "Phải nhỏ hơn {0}."),
    (r"Shorter than minimum length (\d+)\.", "too_short", "Phải có ít nhất {0} ký tự."),
    (r"Longer than maximum length (\d+)\.", "too_long", "Không được dài quá {0} ký tự."),
    (r"Length must be between (\d+) and (\d+)\.", "bad_length", "Độ dài phải từ {0} đến {1}."),
    (r"Length must be (\d+)\.", "bad_length", "Độ dài phải đúng {0}."),
    (r"Invalid type\.", "invalid_type", "Kiểu dữ liệu không hợp lệ."),
    (r"Number too large\.", "number_too_large", "Số quá lớn."),
    (r"Invalid input\.", "invalid_value", "Giá trị này không được chấp nhận."),
    (r"Must be one of: (.+)\.", "not_a_choice", "Phải là một trong các giá trị: {0}."),
    (r"String does not match expected pattern\.", "bad_format", "Không đúng định dạng."),
)
_COMPARISONS = {
    "greater than or equal to": "lớn hơn hoặc bằng",
    "greater than": "lớn hơn",
    "less than or equal to": "nhỏ hơn hoặc bằng",
    "less than": "nhỏ hơn",
}
_COMPILED = tuple((re.compile(pattern), code, text) for pattern, code, text in _TRANSLATIONS)


def translate(message: str) -> tuple[str, str]:
    """(code, Vietnamese message) for one of marshmallow's default messages; unknown ones pass through."""
    for pattern, code, text in _COMPILED:
        match = pattern.fullmatch(message)
        if match:
            return code, text.format(*(_COMPARISONS.get(group, group) for group in match.groups()))
    return "invalid", message


_TITLES = {
    400: "Dữ liệu không hợp lệ",
    401: "Chưa đăng nhập",
    403: "Không có quyền",
    404: "Không tìm thấy",
    405: "Phương thức không được hỗ trợ",
    409: "Xung đột trạng thái",
    413: "Tệp quá lớn",
    415: "Loại tệp không được chấp nhận",
    422: "Không thể xử lý",
    500: "Lỗi hệ thống",
    503: "Dịch vụ tạm thời không sẵn sàng",
}
