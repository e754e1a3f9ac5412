"""The event envelope and the catalogue of event schemas.

Every event crosses the bus as one JSON envelope. Producers and consumers both see Python values; the
catalogue's marshmallow schema for the event's type and version turns them into JSON when the event is
written to the outbox (so an event that does not match its schema is refused before anything commits) and
back when it is consumed (so a malformed message is refused before any handler sees it).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate


class InvalidEvent(ValueError):
    """A message is not an event this system can accept; the text says why, for the dead-letter record."""


@dataclass(frozen=True)
class Actor:
    """Who did something, and in which role: a person, or a service acting on an event."""

    id: str
    name: str
    role: str
    unit: str | None = None

    @classmethod
    def service(cls, name: str) -> Actor:
        return cls(id=f"service:{name}", name=name, role="system")

    def as_dict(self) -> dict[str, str | None]:
        return {"id": self.id, "name": self.name, "role": self.role, "unit": self.unit}


@dataclass(frozen=True)
class Event:
    type: str
    version: int
    occurred_at: datetime
    producer: str
    actor: Actor
    subject: str
    payload: Mapping[str, Any]
    campaign: str | None = None
    unit: str | None = None
    correlation_id: str = ""
    causation_id: str | None = None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    # A consumed event's payload as it came over the bus (JSON values); None for an event made in this process.
    wire_payload: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)


def canonical_json(data: object) -> str:
    """One spelling per value: sorted keys, no spaces, UTF-8 text kept as is (hashes depend on it)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class _ActorSchema(Schema):
    class Meta:
        unknown = RAISE

    id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    name = fields.String(required=True, validate=validate.Length(max=200))
    role = fields.String(required=True, validate=validate.Length(min=1, max=50))
    unit = fields.String(load_default=None, allow_none=True)


class EnvelopeSchema(Schema):
    """The envelope every event shares, whatever its type."""

    class Meta:
        unknown = RAISE

    id = fields.UUID(required=True)
    type = fields.String(required=True, validate=validate.Regexp(r"^[a-z_]+(\.[a-z_]+)+\Z"))
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    occurred_at = fields.AwareDateTime(required=True, format="iso")
    producer = fields.String(required=True, validate=validate.Length(min=1, max=50))
    actor = fields.Nested(_ActorSchema, required=True)
    subject = fields.String(required=True, validate=validate.Length(min=1, max=200))
    campaign = fields.String(load_default=None, allow_none=True)
    unit = fields.String(load_default=None, allow_none=True)
    correlation_id = fields.String(required=True)
    causation_id = fields.String(load_default=None, allow_none=True)
    payload = fields.Dict(keys=fields.String(), required=True)


_ENVELOPE = EnvelopeSchema()


class Catalogue:
    """Event types and versions the system knows, each with the schema of its payload."""

    def __init__(self) -> None:
        self._schemas: dict[tuple[str, int], Schema] = {}

    def register(self, type_: str, version: int = 1) -> Callable[[type[Schema]], type[Schema]]:
        """Class decorator: ``@catalogue.register("dossier.submitted")`` on the payload schema."""

        def add(schema_cls: type[Schema]) -> type[Schema]:
            if (type_, version) in self._schemas:
                raise ValueError(f"{type_} v{version} is registered twice")
            self._schemas[(type_, version)] = schema_cls(unknown=RAISE)
            return schema_cls

        return add

    def knows(self, type_: str, version: int = 1) -> bool:
        return (type_, version) in self._schemas

    def types(self) -> list[tuple[str, int]]:
        return sorted(self._schemas)

    def to_message(self, event: Event) -> dict[str, Any]:
        """The JSON envelope of ``event``; raises :class:`InvalidEvent` if the payload breaks its schema."""
        schema = self._schema(event.type, event.version)
        undeclared = set(event.payload) - set(schema.dump_fields)
        if undeclared:
            raise InvalidEvent(f"{event.type} v{event.version} payload has undeclared fields: {sorted(undeclared)}")
        try:
            wire_payload = schema.dump(event.payload)
        except (TypeError, ValueError, AttributeError) as err:
            raise InvalidEvent(f"{event.type} v{event.version} payload cannot be written: {err}") from None
        errors = schema.validate(wire_payload)
        if errors:
            raise InvalidEvent(f"{event.type} v{event.version} payload does not match its schema: {errors}")
        message = {
            "id": event.id,
            "type": event.type,
            "version": event.version,
            "occurred_at": event.occurred_at.isoformat(),
            "producer": event.producer,
            "actor": event.actor.as_dict(),
            "subject": event.subject,
            "campaign": event.campaign,
            "unit": event.unit,
            "correlation_id": event.correlation_id,
            "causation_id": event.causation_id,
            "payload": wire_payload,
        }
        _check_envelope(message)
        return message

    def from_message(self, body: object, *, accept_unknown: bool = False) -> Event:
        """Parse a consumed message; ``accept_unknown`` keeps payloads of types this catalogue lacks as JSON."""
        envelope = _check_envelope(body)
        key = (envelope["type"], envelope["version"])
        wire_payload: Mapping[str, Any] = envelope["payload"]
        payload = wire_payload
        if key in self._schemas:
            try:
                payload = self._schemas[key].load(payload)
            except ValidationError as err:
                raise InvalidEvent(f"{key[0]} v{key[1]} payload does not match its schema: {err.messages}") from None
        elif not accept_unknown:
            raise InvalidEvent(f"unknown event type {key[0]} v{key[1]}")
        return Event(
            id=str(envelope["id"]),
            type=envelope["type"],
            version=envelope["version"],
            occurred_at=envelope["occurred_at"],
            producer=envelope["producer"],
            actor=Actor(**envelope["actor"]),
            subject=envelope["subject"],
            campaign=envelope["campaign"],
            unit=envelope["unit"],
            correlation_id=envelope["correlation_id"],
            causation_id=envelope["causation_id"],
            payload=payload,
            wire_payload=wire_payload,
        )

    def _schema(self, type_: str, version: int) -> Schema:
        try:
            return self._schemas[(type_, version)]
        except KeyError:
            raise InvalidEvent(f"unknown event type {type_} v{version}") from None


def _check_envelope(body: object) -> dict[str, Any]:
    if not isinstance(body, Mapping):
        raise InvalidEvent(f"the message is not a JSON object but {type(body).__name__}")
    checked = _well_formed(body)
    if checked is not None:
        return checked
    try:
        return _ENVELOPE.load(body)
    except ValidationError as err:
        raise InvalidEvent(f"the envelope is broken: {err.messages}") from None


# Every message crosses the envelope check twice (at its producer and at each consumer), and the schema's load took a
# tenth of a millisecond of each. ``_well_formed`` passes the envelopes producers write, by plain checks that are
# each at least as strict as the schema's; whatever it does not pass, the schema judges, so the schema stays the
# definition of the envelope and the source of every refusal's field-level reasons.
_ENVELOPE_FIELDS = frozenset(EnvelopeSchema().fields)
_ENVELOPE_REQUIRED = frozenset(name for name, f in EnvelopeSchema().fields.items() if f.required)
_ACTOR_FIELDS = frozenset(("id", "name", "role", "unit"))
_TYPE_NAME = re.compile(r"[a-z_]+(\.[a-z_]+)+")
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _well_formed(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The envelope as the schema would load it, or None when the plain checks cannot vouch for it."""
    keys = body.keys()
    if not (_ENVELOPE_REQUIRED <= keys <= _ENVELOPE_FIELDS):
        return None
    id_, type_, version, actor, payload = body["id"], body["type"], body["version"], body["actor"], body["payload"]
    occurred_at = body["occurred_at"]
    if not (
        isinstance(id_, str)
        and _CANONICAL_UUID.fullmatch(id_)
        and isinstance(type_, str)
        and _TYPE_NAME.fullmatch(type_)
        and type(version) is int
        and version >= 1
        and isinstance(occurred_at, str)
        and _text(body["producer"], 1, 50)
        and _text(body["subject"], 1, 200)
        and isinstance(body["correlation_id"], str)
        and all(_optional_text(body.get(name)) for name in ("campaign", "unit", "causation_id"))
        and isinstance(actor, dict)
        and {"id", "name", "role"} <= actor.keys() <= _ACTOR_FIELDS
        and _text(actor["id"], 1, 200)
        and _text(actor["name"], 0, 200)
        and _text(actor["role"], 1, 50)
        and _optional_text(actor.get("unit"))
        and isinstance(payload, dict)
        and all(isinstance(key, str) for key in payload)
    ):
        return None
    try:
        when = datetime.fromisoformat(occurred_at)  # as the schema parses it
    except ValueError:
        return None
    if when.tzinfo is None:
        return None
    return {
        **body,
        "occurred_at": when,
        "actor": {"unit": None, **actor},
        "campaign": body.get("campaign"),
        "unit": body.get("unit"),
        "causation_id": body.get("causation_id"),
    }


def _text(value: object, shortest: int, longest: int) -> bool:
    return isinstance(value, str) and shortest <= len(value) <= longest


def _optional_text(value: object) -> bool:
    return value is None or isinstance(value, str)
