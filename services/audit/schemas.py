"""The shapes of the audit service's requests and answers (and so of its OpenAPI document)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates_schema

from shared.clock import end_of_local_day, parse_instant
from shared.problems import FieldMessage

MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 50

_INSTANT_HELP = "ngày (2021-12-01, theo giờ Việt Nam) hoặc thời điểm ISO 8601 (2021-12-01T09:00, 2021-12-01T02:00:00Z)"


class Instant(fields.Field):
    """An instant as a clerk writes it (see ``shared.clock.parse_instant``); a bare date at the end of a range
    means the whole of that local day."""

    def __init__(self, *, end_of_day: bool = False, **kwargs: Any):
        kwargs.setdefault("metadata", {}).setdefault("description", f"Một {_INSTANT_HELP}.")
        super().__init__(**kwargs)
        self.end_of_day = end_of_day

    def _deserialize(self, value: object, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        text = str(value).strip()
        try:
            if self.end_of_day and len(text) == 10:
                return end_of_local_day(date.fromisoformat(text))
            return parse_instant(text)
        except ValueError:
            raise ValidationError(
                FieldMessage("invalid_instant", f"Thời điểm không hợp lệ: “{text[:50]}”; hãy dùng một {_INSTANT_HELP}.")
            ) from None

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else value.isoformat()


def _text() -> fields.String:
    return fields.String(validate=validate.Length(min=1, max=200))


class EntryQuery(Schema):
    """Filters (all optional, combined with AND), ordering and paging of ``GET /audit/entries``."""

    class Meta:
        unknown = RAISE

    subject = _text()
    dossier = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "A dossier id: its own events, and the events of review and awards that name it."},
    )
    unit = _text()
    actor = fields.String(validate=validate.Length(min=1, max=200), metadata={"description": "The actor's id."})
    role = _text()
    type = fields.List(
        fields.String(validate=validate.Length(min=1, max=200)),
        metadata={"description": "Event types (repeat the parameter, or separate with commas)."},
    )
    campaign = _text()
    occurred_from = Instant()
    occurred_to = Instant(end_of_day=True)
    recorded_from = Instant()
    recorded_to = Instant(end_of_day=True)
    sort = fields.String(
        load_default="seq",
        validate=validate.OneOf(["seq", "occurred"]),
        metadata={
            "description": "seq: the order the log received the events; occurred: when they happened (ties by "
            "arrival). For a range of occurred_*, sort=occurred reads only that range and is the fastest."
        },
    )
    order = fields.String(load_default="newest", validate=validate.OneOf(["newest", "oldest"]))
    page_size = fields.Integer(load_default=DEFAULT_PAGE_SIZE, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))
    cursor = fields.String(
        validate=validate.Length(min=1, max=500), metadata={"description": "The `next` of the previous page."}
    )
    format = fields.String(
        validate=validate.OneOf(["json", "csv"]),
        metadata={"description": "csv: every matching entry as one CSV file (or send Accept: text/csv)."},
    )

    @validates_schema
    def _ranges_in_order(self, data: dict[str, Any], **kwargs: object) -> None:
        for what in ("occurred", "recorded"):
            low, high = data.get(f"{what}_from"), data.get(f"{what}_to")
            if low is not None and high is not None and low > high:
                raise ValidationError(
                    FieldMessage("range_reversed", "Thời điểm kết thúc phải sau thời điểm bắt đầu."), f"{what}_to"
                )

    @post_load
    def _split_types(self, data: dict[str, Any], **kwargs: object) -> dict[str, Any]:
        if "type" in data:
            data["type"] = [part.strip() for value in data["type"] for part in value.split(",") if part.strip()]
        return data


class ExportQuery(Schema):
    class Meta:
        unknown = RAISE

    format = fields.String(validate=validate.OneOf(["json", "csv"]))


class VerifyQuery(Schema):
    """Optionally an entry noted earlier (``seq`` and ``hash``, e.g. the head of a previous verification): the
    log must still hold it unchanged, which also shows whether its end was cut off."""

    class Meta:
        unknown = RAISE

    seq = fields.Integer(validate=validate.Range(min=1))
    hash = fields.String(validate=validate.Regexp(r"^[0-9a-f]{64}\Z"))

    @validates_schema
    def _both_or_neither(self, data: dict[str, Any], **kwargs: object) -> None:
        for given, missing in (("seq", "hash"), ("hash", "seq")):
            if given in data and missing not in data:
                raise ValidationError(
                    FieldMessage(
                        "required_with", f"Cần cả “seq” và “hash” của bản ghi đã ghi nhận (thiếu “{missing}”)."
                    ),
                    missing,
                )


# -- answers -------------------------------------------------------------------------------------------------------


class ActorOut(Schema):
    id = fields.String()
    name = fields.String()
    role = fields.String()
    unit = fields.String(allow_none=True)


class EntryOut(Schema):
    seq = fields.Integer()
    event_id = fields.String()
    type = fields.String()
    version = fields.Integer()
    producer = fields.String()
    actor = fields.Nested(ActorOut)
    campaign = fields.String(allow_none=True)
    unit = fields.String(allow_none=True)
    subject = fields.String()
    dossier_id = fields.String(allow_none=True)
    correlation_id = fields.String()
    causation_id = fields.String(allow_none=True)
    occurred_at = fields.AwareDateTime()
    recorded_at = fields.AwareDateTime()
    payload = fields.Dict()
    sentence = fields.String(metadata={"description": "What happened, in Vietnamese."})
    reason = fields.String(allow_none=True)
    prev_hash = fields.String()
    hash = fields.String()


class EntryPage(Schema):
    entries = fields.List(fields.Nested(EntryOut))
    next = fields.String(allow_none=True, metadata={"description": "Pass as `cursor` for the next page."})


class TimelineStep(Schema):
    seq = fields.Integer()
    event_id = fields.String()
    type = fields.String()
    sentence = fields.String()
    who = fields.String()
    actor_id = fields.String()
    role = fields.String()
    role_name = fields.String()
    unit = fields.String(allow_none=True)
    unit_name = fields.String(allow_none=True)
    when = fields.AwareDateTime()
    when_local = fields.String(metadata={"description": "dd/mm/yyyy HH:MM, Asia/Ho_Chi_Minh"})
    recorded_at = fields.AwareDateTime()
    reason = fields.String(allow_none=True)
    producer = fields.String()


class Timeline(Schema):
    subject = fields.String()
    entries = fields.List(fields.Nested(TimelineStep))


class VerdictOut(Schema):
    status = fields.String(metadata={"description": "intact or broken"})
    entries = fields.Integer(metadata={"description": "intact: how many entries the chain holds"})
    head = fields.String(metadata={"description": "intact: the hash of the last entry; note it with its seq"})
    entries_checked = fields.Integer(metadata={"description": "broken: entries found intact before the break"})
    seq = fields.Integer(allow_none=True, metadata={"description": "broken: the entry where the chain breaks"})
    event_id = fields.String(allow_none=True)
    why = fields.String()
    detail = fields.String()
    expected = fields.Dict()
    last_intact_hash = fields.String()
