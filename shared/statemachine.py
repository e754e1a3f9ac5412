"""State machines for aggregates, on ``transitions``, with every transition recorded.

One :class:`Lifecycle` (one shared ``transitions.Machine``) serves every instance of an aggregate type. Models
are never added to the machine: ``add_model`` keeps each model in a list forever, which leaks memory and slows
down in a long-running consumer. The machine fires its event directly on the instance instead, and reads and
writes the state through ``model_attribute``, which is the mapped state column.

A fired transition does not touch the database: it appends a :class:`StateChange` to the aggregate. The unit
of work collects those on commit and writes, in the same transaction as the state itself, one history row and
one outbox event per change. ``transitions`` never rolls back, so nothing may happen after the state is set
that could fail; the change record is built first and appended last.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from marshmallow import Schema, fields
from transitions import Machine, MachineError

from shared.events import Actor

_sequence = itertools.count()


class RuleViolation(Exception):
    """A domain rule refuses a command: the API answers with ``status``, ``code`` and the Vietnamese ``detail``."""

    status = 409

    def __init__(self, code: str, detail: str, **extra: Any):
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.extra = extra


class Forbidden(RuleViolation):
    """The person may not do this to this subject (their own unit's dossier, say), whatever its state."""

    status = 403


class IllegalTransition(Exception):
    """A trigger that the subject's current state does not allow; the API answers 409 with this."""

    code = "illegal_transition"

    def __init__(
        self,
        subject_type: str,
        subject_id: str,
        state: str,
        trigger: str,
        allowed: Sequence[str],
        detail: str | None = None,
    ):
        self.subject_type = subject_type
        self.subject_id = subject_id
        self.state = state
        self.trigger = trigger
        self.allowed = list(allowed)
        self.detail = detail or f"Không thể thực hiện '{trigger}' ở trạng thái '{state}'."
        super().__init__(
            f"{subject_type} {subject_id} is {state}: '{trigger}' is not allowed"
            f" (allowed: {', '.join(self.allowed) or 'nothing'})"
        )


@dataclass(frozen=True)
class Move:
    """One transition of a lifecycle and the event type (and version of its shape) that announces it."""

    trigger: str
    source: Enum | Sequence[Enum]
    dest: Enum
    event: str
    version: int = 1


@dataclass(frozen=True)
class StateChange:
    """A transition that happened: who, in which role, when, from, to, by which trigger, and why."""

    subject_type: str
    subject_id: str
    trigger: str
    source: str
    dest: str
    actor: Actor
    at: datetime
    reason: str | None
    event_type: str
    payload: Mapping[str, Any]
    campaign: str | None = None
    unit: str | None = None
    event_version: int = 1
    sequence: int = field(default_factory=lambda: next(_sequence))


class TransitionPayload(Schema):
    """Base schema of every state-change event: what changed, so a consumer never has to guess."""

    trigger = fields.String(required=True)
    from_state = fields.String(required=True)
    to_state = fields.String(required=True)
    reason = fields.String(load_default=None, allow_none=True)


class Aggregate:
    """A domain object whose state changes wait here until the unit of work persists and publishes them."""

    subject_type: str = "aggregate"
    id: Any

    @property
    def pending_changes(self) -> list[StateChange]:
        # Set lazily: the ORM builds loaded instances without calling __init__.
        try:
            return self.__dict__["_pending_changes"]
        except KeyError:
            changes: list[StateChange] = []
            self.__dict__["_pending_changes"] = changes
            return changes

    def pull_changes(self) -> list[StateChange]:
        changes = list(self.pending_changes)
        self.pending_changes.clear()
        return changes

    @property
    def campaign_code(self) -> str | None:
        return None

    @property
    def unit_code(self) -> str | None:
        return None


class Lifecycle:
    """The states and moves of one aggregate type."""

    def __init__(
        self,
        subject_type: str,
        states: type[Enum],
        initial: Enum,
        moves: Iterable[Move],
        attribute: str = "state",
        *,
        noun: str = "đối tượng",
        state_names: Mapping[Enum, str] | None = None,
        action_names: Mapping[str, str] | None = None,
    ):
        """``noun``, ``state_names`` and ``action_names`` word the 409 a user reads, in Vietnamese."""
        self.subject_type = subject_type
        self.noun = noun
        self.state_names = {state.value: name for state, name in (state_names or {}).items()}
        self.action_names = dict(action_names or {})
        self.states = states
        self.attribute = attribute
        self.moves = tuple(moves)
        for move in self.moves:
            if move.dest in _listify(move.source):
                # A transition must change the state column, or the unit of work might never see it.
                raise ValueError(f"{subject_type}: '{move.trigger}' must leave {move.dest.value}")
        self._events = {move.trigger: move.event for move in self.moves}
        self._versions = {move.trigger: move.version for move in self.moves}
        self._machine = Machine(
            model=None,
            states=states,
            initial=initial,
            transitions=[{"trigger": m.trigger, "source": _listify(m.source), "dest": m.dest} for m in self.moves],
            auto_transitions=False,
            model_attribute=attribute,
        )

    def allowed(self, state: Enum) -> list[str]:
        """Triggers that ``state`` allows, in declaration order."""
        return [m.trigger for m in self.moves if state in _listify(m.source)]

    def require(self, aggregate: Aggregate, trigger: str) -> None:
        """Refuse ``trigger`` now if the current state does not allow it, before the caller changes anything."""
        state: Enum = getattr(aggregate, self.attribute)
        if trigger not in self.allowed(state):
            raise self._illegal(aggregate, state, trigger)

    def fire(
        self,
        aggregate: Aggregate,
        trigger: str,
        *,
        actor: Actor,
        at: datetime,
        reason: str | None = None,
        payload: Mapping[str, Any] | None = None,
    ) -> StateChange:
        source: Enum = getattr(aggregate, self.attribute)
        if trigger not in self._events:
            raise self._illegal(aggregate, source, trigger)
        try:
            self._machine.events[trigger].trigger(aggregate)
        except MachineError:
            raise self._illegal(aggregate, source, trigger) from None
        dest: Enum = getattr(aggregate, self.attribute)
        change = StateChange(
            subject_type=self.subject_type,
            subject_id=str(aggregate.id),
            trigger=trigger,
            source=source.value,
            dest=dest.value,
            actor=actor,
            at=at,
            reason=reason,
            event_type=self._events[trigger],
            event_version=self._versions[trigger],
            payload={
                **(payload or {}),
                "trigger": trigger,
                "from_state": source.value,
                "to_state": dest.value,
                "reason": reason,
            },
            campaign=aggregate.campaign_code,
            unit=aggregate.unit_code,
        )
        aggregate.pending_changes.append(change)
        return change

    def _illegal(self, aggregate: Aggregate, state: Enum, trigger: str) -> IllegalTransition:
        action = self.action_names.get(trigger, trigger)
        state_name = self.state_names.get(state.value, state.value)
        detail = f"Không thể {action} khi {self.noun} đang ở trạng thái “{state_name}”."
        return IllegalTransition(
            self.subject_type, str(aggregate.id), state.value, trigger, self.allowed(state), detail
        )


def _listify(source: Enum | Sequence[Enum]) -> list[Enum]:
    return [source] if isinstance(source, Enum) else list(source)
