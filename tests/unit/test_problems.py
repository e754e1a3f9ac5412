import json
from typing import Any

import pytest
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from shared.problems import FieldMessage, Problem, field_errors, translate, validation_problem


class _Person(Schema):
    name = fields.String(required=True)


def marshmallow_messages(field: fields.Field | None, data: dict[str, Any]) -> list[str]:
    """The messages marshmallow itself gives when ``data`` is loaded through a schema of one field ``v``."""
    schema_cls = Schema.from_dict({"v": field} if field is not None else {})
    try:
        schema_cls(unknown=RAISE).load(data)
    except ValidationError as err:
        return list(_leaves(err.messages))
    raise AssertionError(f"{data!r} was accepted")


def _leaves(messages: Any) -> list[str]:
    if isinstance(messages, dict):
        return [leaf for value in messages.values() for leaf in _leaves(value)]
    if isinstance(messages, list):
        return [leaf for value in messages for leaf in _leaves(value)]
    return [messages]


# (field, bad data, expected code, expected Vietnamese text)
MARSHMALLOW_CASES = {
    "integer": (fields.Integer(), {"v": "mười"}, "invalid_integer", "Phải là một số nguyên."),
    "strict integer": (fields.Integer(strict=True), {"v": 1.5}, "invalid_integer", "Phải là một số nguyên."),
    "number": (fields.Float(), {"v": "x"}, "invalid_number", "Phải là một số."),
    "required string": (fields.String(required=True), {}, "required", "Trường này là bắt buộc."),
    "string": (fields.String(), {"v": 5}, "invalid_string", "Phải là một chuỗi ký tự."),
    "null": (fields.String(), {"v": None}, "null", "Trường này không được để trống."),
    "boolean": (fields.Boolean(), {"v": "có lẽ"}, "invalid_boolean", "Phải là đúng hoặc sai (true/false)."),
    "email": (fields.Email(), {"v": "not-an-email"}, "invalid_email", "Địa chỉ thư điện tử không hợp lệ."),
    "url": (fields.URL(), {"v": "not a url"}, "invalid_url", "Địa chỉ trang web không hợp lệ."),
    "uuid": (fields.UUID(), {"v": "123"}, "invalid_uuid", "Mã định danh không hợp lệ."),
    "date": (fields.Date(), {"v": "2021-13-01"}, "invalid_date", "Ngày không hợp lệ (định dạng YYYY-MM-DD)."),
    "datetime": (
        fields.DateTime(),
        {"v": "hôm qua"},
        "invalid_datetime",
        "Thời điểm không hợp lệ (định dạng ISO 8601).",
    ),
    "aware datetime, naive": (
        fields.AwareDateTime(),
        {"v": "2021-12-01T09:00:00"},
        "invalid_datetime",
        "Thời điểm phải có múi giờ (ISO 8601).",
    ),
    "aware datetime, garbage": (
        fields.AwareDateTime(),
        {"v": "hôm qua"},
        "invalid_datetime",
        "Thời điểm không hợp lệ (định dạng ISO 8601).",
    ),
    "list": (fields.List(fields.String()), {"v": "a, b"}, "invalid_list", "Phải là một danh sách."),
    "list item": (fields.List(fields.Integer()), {"v": [1, "hai"]}, "invalid_integer", "Phải là một số nguyên."),
    "mapping": (fields.Dict(), {"v": [1]}, "invalid_object", "Phải là một đối tượng."),
    "nested": (fields.Nested(_Person), {"v": [1]}, "invalid_type", "Kiểu dữ liệu không hợp lệ."),
    "nested required": (fields.Nested(_Person), {"v": {}}, "required", "Trường này là bắt buộc."),
    "range min 0": (
        fields.Integer(validate=validate.Range(min=0)),
        {"v": -1},
        "too_small",
        "Phải lớn hơn hoặc bằng 0.",
    ),
    "range max": (
        fields.Integer(validate=validate.Range(max=100)),
        {"v": 101},
        "too_large",
        "Phải nhỏ hơn hoặc bằng 100.",
    ),
    "range exclusive min": (
        fields.Float(validate=validate.Range(min=0, min_inclusive=False)),
        {"v": 0},
        "too_small",
        "Phải lớn hơn 0.",
    ),
    "range exclusive max": (
        fields.Float(validate=validate.Range(max=1, max_inclusive=False)),
        {"v": 1},
        "too_large",
        "Phải nhỏ hơn 1.",
    ),
    "range min max": (
        fields.Integer(validate=validate.Range(2000, 2999)),
        {"v": 1999},
        "out_of_range",
        "Phải từ 2000 đến 2999.",
    ),
    "length max": (
        fields.String(validate=validate.Length(max=200)),
        {"v": "x" * 201},
        "too_long",
        "Không được dài quá 200 ký tự.",
    ),
    "length min": (
        fields.String(validate=validate.Length(min=1)),
        {"v": ""},
        "too_short",
        "Phải có ít nhất 1 ký tự.",
    ),
    "length min max": (
        fields.String(validate=validate.Length(min=1, max=50)),
        {"v": ""},
        "bad_length",
        "Độ dài phải từ 1 đến 50.",
    ),
    "one of": (
        fields.String(validate=validate.OneOf(["tap-the", "ca-nhan"])),
        {"v": "khac"},
        "not_a_choice",
        "Phải là một trong các giá trị: tap-the, ca-nhan.",
    ),
    "regexp": (
        fields.String(validate=validate.Regexp(r"^[a-z-]+$")),
        {"v": "Hoà Tân"},
        "bad_format",
        "Không đúng định dạng.",
    ),
    "unknown field": (None, {"extra": 1}, "unknown_field", "Trường này không được chấp nhận."),
}


@pytest.mark.parametrize(("field", "data", "code", "text"), MARSHMALLOW_CASES.values(), ids=MARSHMALLOW_CASES.keys())
def test_translate_knows_marshmallows_own_messages(
    field: fields.Field | None, data: dict[str, Any], code: str, text: str
) -> None:
    messages = marshmallow_messages(field, data)

    assert messages
    for message in messages:
        assert translate(message) == (code, text)
        assert translate(message)[0] != "invalid"


# Default messages of marshmallow 4.4 that a request can meet but the table does not know.
UNTRANSLATED_CASES = {
    "range exclusive min with max": (
        fields.Float(validate=validate.Range(min=0, max=1, min_inclusive=False)),
        {"v": 0},
    ),
    "range exclusive max with min": (
        fields.Float(validate=validate.Range(min=0, max=1, max_inclusive=False)),
        {"v": 1},
    ),
    "length equal": (fields.String(validate=validate.Length(equal=12)), {"v": "123"}),
    "nested many, not a list": (fields.Nested(_Person, many=True), {"v": {"name": "A"}}),
    "integer too large": (fields.Integer(), {"v": float("inf")}),
    "none of": (fields.String(validate=validate.NoneOf(["admin"])), {"v": "admin"}),
}


@pytest.mark.parametrize(("field", "data"), UNTRANSLATED_CASES.values(), ids=UNTRANSLATED_CASES.keys())
def test_translate_knows_the_rarer_marshmallow_messages_too(field: fields.Field, data: dict[str, Any]) -> None:
    for message in marshmallow_messages(field, data):
        code, text = translate(message)
        assert code != "invalid"
        assert text != message


@pytest.mark.parametrize(
    "message",
    ["Must not be blank.", "Each ranking key may appear only once.", "", "not a valid integer."],
)
def test_a_message_the_table_does_not_know_passes_through_as_invalid(message: str) -> None:
    assert translate(message) == ("invalid", message)


def test_translate_matches_whole_messages_only() -> None:
    assert translate("Not a valid integer. Or string.")[0] == "invalid"
    assert translate("Note: Not a valid integer.")[0] == "invalid"


# --- validation problems ---------------------------------------------------


def test_a_field_message_keeps_its_code_through_validation_problem() -> None:
    duplicate = FieldMessage("duplicate_code", "Mã đơn vị đã tồn tại.")

    problem = validation_problem({"code": [duplicate], "size": ["Not a valid integer."]})

    assert problem.status == 400
    assert problem.code == "validation_failed"
    assert problem.extra == {"location": "json"}
    assert problem.errors == {
        "code": [{"code": "duplicate_code", "message": "Mã đơn vị đã tồn tại."}],
        "size": [{"code": "invalid_integer", "message": "Phải là một số nguyên."}],
    }


def test_a_field_message_is_the_text_it_carries() -> None:
    message = FieldMessage("too_late", "Đã quá hạn nộp hồ sơ.")

    assert message == "Đã quá hạn nộp hồ sơ."
    assert isinstance(message, str)
    assert message.code == "too_late"


def test_a_field_message_whose_text_looks_like_marshmallows_is_not_translated() -> None:
    message = FieldMessage("custom_required", "Missing data for required field.")

    problem = validation_problem({"name": [message]})

    assert problem.errors == {"name": [{"code": "custom_required", "message": "Missing data for required field."}]}


def test_schema_level_messages_land_under_schema() -> None:
    problem = validation_problem(["Invalid input type.", FieldMessage("empty_file", "Tệp rỗng.")], location="files")

    assert problem.errors == {
        "_schema": [
            {"code": "invalid_type", "message": "Kiểu dữ liệu không hợp lệ."},
            {"code": "empty_file", "message": "Tệp rỗng."},
        ]
    }
    assert problem.extra == {"location": "files"}


def test_field_errors_flattens_real_nested_errors_to_dotted_paths() -> None:
    class Unit(Schema):
        code = fields.String(required=True)
        email = fields.Email()

    class Head(Schema):
        name = fields.String(required=True)
        phone = fields.String(validate=validate.Length(max=10))

    class Dossier(Schema):
        title = fields.String(required=True)
        units = fields.List(fields.Nested(Unit))
        head = fields.Nested(Head)
        tags = fields.List(fields.String())

    with pytest.raises(ValidationError) as raised:
        Dossier().load(
            {
                "units": [{"code": "hoa-tan"}, {"code": 5, "email": "x"}],
                "head": {"phone": "0123456789012"},
                "tags": ["ok", 7],
            }
        )

    assert field_errors(raised.value.messages) == {
        "title": [{"code": "required", "message": "Trường này là bắt buộc."}],
        "units.1.code": [{"code": "invalid_string", "message": "Phải là một chuỗi ký tự."}],
        "units.1.email": [{"code": "invalid_email", "message": "Địa chỉ thư điện tử không hợp lệ."}],
        "head.name": [{"code": "required", "message": "Trường này là bắt buộc."}],
        "head.phone": [{"code": "too_long", "message": "Không được dài quá 10 ký tự."}],
        "tags.1": [{"code": "invalid_string", "message": "Phải là một chuỗi ký tự."}],
    }


def test_field_errors_accepts_a_bare_message_and_a_prefix() -> None:
    flat = field_errors({"v": "Unknown field.", "w": {0: {"x": ["Invalid value."]}}}, prefix="body.")

    assert flat == {
        "body.v": [{"code": "unknown_field", "message": "Trường này không được chấp nhận."}],
        "body.w.0.x": [{"code": "invalid_value", "message": "Giá trị không hợp lệ."}],
    }


# --- problem+json ----------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "title"),
    [
        (400, "Dữ liệu không hợp lệ"),
        (401, "Chưa đăng nhập"),
        (403, "Không có quyền"),
        (404, "Không tìm thấy"),
        (409, "Xung đột trạng thái"),
        (413, "Tệp quá lớn"),
        (500, "Lỗi hệ thống"),
        (503, "Dịch vụ tạm thời không sẵn sàng"),
        (418, "Lỗi"),
    ],
)
def test_a_problem_answers_as_problem_json(status: int, title: str) -> None:
    response = Problem(status, "some_code", "Có lỗi xảy ra.").response()

    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert json.loads(response.get_data(as_text=True)) == {
        "type": "https://thidua.invalid/problems/some_code",
        "title": title,
        "status": status,
        "code": "some_code",
        "detail": "Có lỗi xảy ra.",
    }
    assert ("WWW-Authenticate" in response.headers) is (status == 401)


def test_a_problem_carries_its_extra_members_and_errors() -> None:
    problem = Problem(
        409,
        "illegal_transition",
        "Không thể 'submit' khi hồ sơ đang ở trạng thái 'submitted'.",
        errors={"state": [{"code": "x", "message": "y"}]},
        debug="not for the user",
        state="submitted",
        allowed=["withdraw"],
    )

    body = json.loads(problem.response().get_data(as_text=True))

    assert body["status"] == 409
    assert body["code"] == "illegal_transition"
    assert body["title"] == "Xung đột trạng thái"
    assert body["detail"] == "Không thể 'submit' khi hồ sơ đang ở trạng thái 'submitted'."
    assert body["state"] == "submitted"
    assert body["allowed"] == ["withdraw"]
    assert body["errors"] == {"state": [{"code": "x", "message": "y"}]}
    assert "debug" not in body
    assert "not for the user" not in problem.response().get_data(as_text=True)
    assert str(problem) == "409 illegal_transition: not for the user"


def test_a_problem_writes_vietnamese_as_is() -> None:
    text = Problem(400, "validation_failed", "Dữ liệu gửi lên chưa hợp lệ.").response().get_data(as_text=True)

    assert "Dữ liệu gửi lên chưa hợp lệ." in text
    assert "\\u" not in text


def test_a_validation_problem_answers_with_its_errors_and_location() -> None:
    body = json.loads(validation_problem({"year": ["Not a valid integer."]}, "query").response().get_data(as_text=True))

    assert body["status"] == 400
    assert body["code"] == "validation_failed"
    assert body["location"] == "query"
    assert body["errors"] == {"year": [{"code": "invalid_integer", "message": "Phải là một số nguyên."}]}
    assert not body["detail"].isascii()
