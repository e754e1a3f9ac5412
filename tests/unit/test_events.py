import copy
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from marshmallow import Schema, fields, validate

from shared.events import _ENVELOPE, Actor, Catalogue, Event, InvalidEvent, _well_formed, canonical_json

ICT = timezone(timedelta(hours=7))
CLERK = Actor(id="clerk-1", name="Nguyễn Văn A", role="unit_clerk", unit="hoa-tan")


class DossierSubmitted(Schema):
    title = fields.String(required=True)
    prize_count = fields.Integer(load_default=0, validate=validate.Range(min=0))
    deadline = fields.Date(required=True)
    tags = fields.List(fields.String(), load_default=list)


class DossierSubmittedV2(Schema):
    title = fields.String(required=True)
    unit_count = fields.Integer(required=True, strict=True)


def make_catalogue() -> Catalogue:
    catalogue = Catalogue()
    catalogue.register("dossier.submitted")(DossierSubmitted)
    catalogue.register("dossier.submitted", version=2)(DossierSubmittedV2)
    return catalogue


CATALOGUE = make_catalogue()


def submitted(**changes: Any) -> Event:
    event = Event(
        type="dossier.submitted",
        version=1,
        occurred_at=datetime(2021, 12, 1, 9, 0, tzinfo=ICT),
        producer="intake",
        actor=CLERK,
        subject="hs-001",
        payload={"title": "Hồ sơ thi đua 2021", "prize_count": 2, "deadline": date(2021, 12, 6), "tags": ["tập thể"]},
        campaign="chau-thanh-2021",
        unit="hoa-tan",
        correlation_id="corr-1",
        causation_id="cause-1",
    )
    return replace(event, **changes)


def message(**changes: Any) -> dict[str, Any]:
    return {**CATALOGUE.to_message(submitted()), **changes}


# --- to_message ------------------------------------------------------------


def test_to_message_writes_the_whole_envelope_with_the_payload_dumped() -> None:
    event = submitted()

    assert CATALOGUE.to_message(event) == {
        "id": event.id,
        "type": "dossier.submitted",
        "version": 1,
        "occurred_at": "2021-12-01T09:00:00+07:00",
        "producer": "intake",
        "actor": {"id": "clerk-1", "name": "Nguyễn Văn A", "role": "unit_clerk", "unit": "hoa-tan"},
        "subject": "hs-001",
        "campaign": "chau-thanh-2021",
        "unit": "hoa-tan",
        "correlation_id": "corr-1",
        "causation_id": "cause-1",
        "payload": {"title": "Hồ sơ thi đua 2021", "prize_count": 2, "deadline": "2021-12-06", "tags": ["tập thể"]},
    }


def test_a_message_is_plain_json() -> None:
    body = CATALOGUE.to_message(submitted())

    assert json.loads(canonical_json(body)) == body


def test_a_service_actor_and_no_optional_fields_are_written_as_nulls() -> None:
    event = submitted(actor=Actor.service("review"), campaign=None, unit=None, causation_id=None)

    body = CATALOGUE.to_message(event)

    assert body["actor"] == {"id": "service:review", "name": "review", "role": "system", "unit": None}
    assert (body["campaign"], body["unit"], body["causation_id"]) == (None, None, None)


@pytest.mark.parametrize(
    "event",
    [
        submitted(),
        submitted(occurred_at=datetime(2021, 12, 6, 16, 59, 59, 999999, tzinfo=UTC)),
        submitted(actor=Actor.service("review"), campaign=None, unit=None, causation_id=None),
        submitted(payload={"title": "Tối thiểu", "prize_count": 0, "deadline": date(2022, 1, 31), "tags": []}),
        submitted(version=2, payload={"title": "Bản 2", "unit_count": 12}),
    ],
    ids=["full", "utc instant", "service actor without optionals", "empty list", "version 2"],
)
def test_an_event_survives_the_round_trip(event: Event) -> None:
    back = CATALOGUE.from_message(CATALOGUE.to_message(event))

    assert back == event
    assert back.id == event.id
    assert back.payload == event.payload
    assert back.occurred_at == event.occurred_at
    assert back.occurred_at.utcoffset() == event.occurred_at.utcoffset()
    assert back.actor == event.actor


def test_the_round_trip_survives_json_text() -> None:
    event = submitted()

    assert CATALOGUE.from_message(json.loads(canonical_json(CATALOGUE.to_message(event)))) == event


@pytest.mark.parametrize(
    "payload",
    [
        {"prize_count": 2, "deadline": date(2021, 12, 6)},
        {"title": "Thiếu hạn", "prize_count": 2},
        {"title": "Âm", "prize_count": -1, "deadline": date(2021, 12, 6)},
        {"title": None, "deadline": date(2021, 12, 6)},
    ],
    ids=["missing title", "missing deadline", "negative count", "null title"],
)
def test_to_message_refuses_a_payload_that_breaks_its_schema(payload: dict[str, Any]) -> None:
    with pytest.raises(InvalidEvent, match=r"dossier\.submitted v1 payload does not match its schema"):
        CATALOGUE.to_message(submitted(payload=payload))


def test_to_message_refuses_a_payload_key_its_schema_does_not_declare() -> None:
    payload = {"title": "Hồ sơ", "deadline": date(2021, 12, 6), "prize_cuont": 3}

    with pytest.raises(InvalidEvent):
        CATALOGUE.to_message(submitted(payload=payload))


@pytest.mark.parametrize(
    "payload",
    [
        {"title": "Hồ sơ", "prize_count": "hai", "deadline": date(2021, 12, 6)},
        {"title": "Hồ sơ", "deadline": "2021-12-06"},
    ],
    ids=["text for an integer", "text for a date"],
)
def test_to_message_refuses_a_wrongly_typed_payload_value_as_an_invalid_event(payload: dict[str, Any]) -> None:
    with pytest.raises(InvalidEvent):
        CATALOGUE.to_message(submitted(payload=payload))


def test_to_message_refuses_a_naive_time() -> None:
    with pytest.raises(InvalidEvent, match="occurred_at"):
        CATALOGUE.to_message(submitted(occurred_at=datetime(2021, 12, 1, 9, 0)))


def test_to_message_refuses_an_unknown_type_or_version() -> None:
    with pytest.raises(InvalidEvent, match=r"unknown event type dossier\.archived v1"):
        CATALOGUE.to_message(submitted(type="dossier.archived"))
    with pytest.raises(InvalidEvent, match=r"unknown event type dossier\.submitted v3"):
        CATALOGUE.to_message(submitted(version=3))


# --- the catalogue ---------------------------------------------------------


def test_registering_a_type_and_version_twice_is_refused() -> None:
    catalogue = make_catalogue()

    with pytest.raises(ValueError, match=r"dossier\.submitted v1 is registered twice"):
        catalogue.register("dossier.submitted")(DossierSubmittedV2)

    body = catalogue.to_message(submitted())
    assert body["payload"]["deadline"] == "2021-12-06"  # the first schema stays


def test_the_catalogue_knows_each_version_apart() -> None:
    assert CATALOGUE.knows("dossier.submitted")
    assert CATALOGUE.knows("dossier.submitted", 2)
    assert not CATALOGUE.knows("dossier.submitted", 3)
    assert not CATALOGUE.knows("dossier.archived")
    assert CATALOGUE.types() == [("dossier.submitted", 1), ("dossier.submitted", 2)]


def test_each_version_reads_its_payload_with_its_own_schema() -> None:
    v1 = CATALOGUE.from_message(message())
    v2 = CATALOGUE.from_message(message(version=2, payload={"title": "Bản 2", "unit_count": 12}))

    assert v1.payload["deadline"] == date(2021, 12, 6)
    assert v2.payload == {"title": "Bản 2", "unit_count": 12}
    with pytest.raises(InvalidEvent, match=r"dossier\.submitted v2 payload"):
        CATALOGUE.from_message(message(version=2))
    with pytest.raises(InvalidEvent, match=r"dossier\.submitted v1 payload"):
        CATALOGUE.from_message(message(payload={"title": "Bản 2", "unit_count": 12}))


# --- from_message ----------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [None, "dossier.submitted", b"{}", ["dossier.submitted"], 42],
    ids=["null", "text", "bytes", "list", "number"],
)
def test_from_message_refuses_a_body_that_is_not_an_object(body: object) -> None:
    with pytest.raises(InvalidEvent, match="not a JSON object"):
        CATALOGUE.from_message(body)


@pytest.mark.parametrize(
    "field",
    ["id", "type", "version", "occurred_at", "producer", "actor", "subject", "correlation_id", "payload"],
)
def test_from_message_refuses_a_message_missing_an_envelope_field(field: str) -> None:
    body = message()
    del body[field]

    with pytest.raises(InvalidEvent, match=f"envelope is broken.*'{field}'"):
        CATALOGUE.from_message(body, accept_unknown=True)


@pytest.mark.parametrize("field", ["campaign", "unit", "causation_id"])
def test_the_optional_envelope_fields_may_be_left_out(field: str) -> None:
    body = message()
    del body[field]

    assert getattr(CATALOGUE.from_message(body), field) is None


def _breaking(change: Callable[[dict[str, Any]], None]) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        body = copy.deepcopy(message())
        change(body)
        return body

    return build


BROKEN_ENVELOPES = [
    _breaking(lambda b: b.update(priority="high")),
    _breaking(lambda b: b.update(occurred_at="2021-12-01T09:00:00")),
    _breaking(lambda b: b.update(occurred_at="hôm qua")),
    _breaking(lambda b: b.update(id="not-a-uuid")),
    _breaking(lambda b: b.update(version="1")),
    _breaking(lambda b: b.update(version=0)),
    _breaking(lambda b: b.update(version=True)),
    _breaking(lambda b: b.update(subject="")),
    _breaking(lambda b: b.update(producer="")),
    _breaking(lambda b: b.update(payload=["title"])),
    _breaking(lambda b: b.update(correlation_id=None)),
    _breaking(lambda b: b["actor"].update(role="")),
    _breaking(lambda b: b["actor"].update(email="a@b.vn")),
    _breaking(lambda b: b["actor"].pop("id")),
]


@pytest.mark.parametrize(
    "build",
    BROKEN_ENVELOPES,
    ids=[
        "unknown envelope field",
        "naive occurred_at",
        "garbage occurred_at",
        "id not a uuid",
        "version as text",
        "version zero",
        "version boolean",
        "empty subject",
        "empty producer",
        "payload not an object",
        "null correlation id",
        "empty actor role",
        "unknown actor field",
        "actor without id",
    ],
)
def test_from_message_refuses_a_broken_envelope(build: Callable[[], dict[str, Any]]) -> None:
    with pytest.raises(InvalidEvent, match="envelope is broken"):
        CATALOGUE.from_message(build(), accept_unknown=True)


ENVELOPES = [
    message(),
    message(campaign=None, unit=None, causation_id=None),
    {key: value for key, value in message().items() if key not in ("campaign", "unit", "causation_id")},
    message(actor={"id": "service:review", "name": "review", "role": "system"}),
    message(id="0B9F7C1E-5A55-4C4E-9D5E-1F0D8B1F5A11"),  # a UUID not in canonical spelling
    message(occurred_at="2021-12-01T09:00:00.123456+07:00"),
    message(occurred_at="2021-12-01T09:00:00Z"),
    message(occurred_at="2021-12-01T09:00:00"),
    message(occurred_at=datetime(2021, 12, 1, 9, tzinfo=ICT)),
    message(version=True),
    message(version=2.0),
    message(producer="x" * 51),
    message(subject="s" * 201),
    message(payload={}),
    message(actor={"id": "a", "name": "", "role": "r", "unit": 7}),
    message(type="dossier.submitted\n"),
] + [build() for build in BROKEN_ENVELOPES]


@pytest.mark.parametrize("body", ENVELOPES)
def test_the_quick_envelope_check_passes_only_what_the_schema_accepts_and_gives_what_it_gives(body: dict) -> None:
    quick = _well_formed(body)
    if quick is None:
        return  # the schema judges it, as before
    loaded = _ENVELOPE.load(body)
    assert quick == {**loaded, "id": str(loaded["id"])}


def test_the_quick_envelope_check_passes_what_producers_write() -> None:
    assert _well_formed(message()) is not None
    assert _well_formed(json.loads(json.dumps(message()))) is not None


@pytest.mark.parametrize(
    "type_",
    ["dossier", "Dossier.Submitted", "dossier.", ".submitted", "dossier submitted", "dossier.submitted2", ""],
)
def test_from_message_refuses_a_bad_type_name(type_: str) -> None:
    with pytest.raises(InvalidEvent, match=r"envelope is broken.*'type'"):
        CATALOGUE.from_message(message(type=type_), accept_unknown=True)


def test_from_message_refuses_a_type_name_with_a_trailing_newline() -> None:
    with pytest.raises(InvalidEvent, match="envelope is broken"):
        CATALOGUE.from_message(message(type="dossier.submitted\n"), accept_unknown=True)


def test_from_message_refuses_an_unknown_type() -> None:
    with pytest.raises(InvalidEvent, match=r"unknown event type dossier\.archived v1"):
        CATALOGUE.from_message(message(type="dossier.archived"))
    with pytest.raises(InvalidEvent, match=r"unknown event type dossier\.submitted v7"):
        CATALOGUE.from_message(message(version=7))


def test_accept_unknown_keeps_the_raw_payload_of_an_unknown_type() -> None:
    raw = {"anything": [1, {"nested": True}], "deadline": "2021-12-06", "tên": "Hồ sơ"}
    body = message(type="dossier.archived", payload=raw)

    event = CATALOGUE.from_message(body, accept_unknown=True)

    assert event.type == "dossier.archived"
    assert event.payload == raw
    assert event.id == body["id"]
    assert event.actor == CLERK


def test_accept_unknown_still_checks_the_payload_of_a_known_type() -> None:
    with pytest.raises(InvalidEvent, match="payload does not match"):
        CATALOGUE.from_message(message(payload={"title": "Thiếu hạn"}), accept_unknown=True)


@pytest.mark.parametrize(
    "payload",
    [
        {"prize_count": 2, "deadline": "2021-12-06"},
        {"title": "Hồ sơ", "deadline": "06/12/2021"},
        {"title": "Hồ sơ", "deadline": "2021-12-06", "prize_count": -1},
        {"title": "Hồ sơ", "deadline": "2021-12-06", "prize_count": "hai"},
        {"title": "Hồ sơ", "deadline": "2021-12-06", "extra": 1},
        {"title": "Hồ sơ", "deadline": "2021-12-06", "tags": "tập thể"},
    ],
    ids=["missing title", "bad date", "negative count", "text count", "undeclared key", "tags not a list"],
)
def test_from_message_refuses_a_payload_that_breaks_its_schema(payload: dict[str, Any]) -> None:
    with pytest.raises(InvalidEvent, match=r"dossier\.submitted v1 payload does not match its schema"):
        CATALOGUE.from_message(message(payload=payload))


def test_from_message_fills_the_payload_defaults_of_its_schema() -> None:
    event = CATALOGUE.from_message(message(payload={"title": "Hồ sơ", "deadline": "2021-12-06"}))

    assert event.payload == {"title": "Hồ sơ", "deadline": date(2021, 12, 6), "prize_count": 0, "tags": []}


# --- canonical JSON --------------------------------------------------------


def test_canonical_json_does_not_depend_on_key_order() -> None:
    one = {"b": 1, "a": {"d": [1, {"y": 2, "x": 1}], "c": "Thi đua"}}
    other = {"a": {"c": "Thi đua", "d": [1, {"x": 1, "y": 2}]}, "b": 1}

    assert canonical_json(one) == canonical_json(other)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ({"b": 1, "a": 2}, '{"a":2,"b":1}'),
        ({"tên": "Lê Thị Ánh", "số": [1, 2]}, '{"số":[1,2],"tên":"Lê Thị Ánh"}'),
        ([{"z": None, "a": True}], '[{"a":true,"z":null}]'),
        ("Khen thưởng", '"Khen thưởng"'),
        ({}, "{}"),
    ],
)
def test_canonical_json_spells_each_value_one_way(value: object, text: str) -> None:
    assert canonical_json(value) == text


def test_canonical_json_keeps_vietnamese_text_as_is() -> None:
    text = canonical_json({"name": "Ủy ban nhân dân xã Hòa Tân"})

    assert "Ủy ban nhân dân xã Hòa Tân" in text
    assert "\\u" not in text
    assert " " not in text.replace("Ủy ban nhân dân xã Hòa Tân", "")
