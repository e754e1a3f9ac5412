import enum
import gc
import weakref
from datetime import UTC, datetime, timedelta

import pytest

from shared.events import Actor
from shared.statemachine import Aggregate, IllegalTransition, Lifecycle, Move, StateChange

AT = datetime(2021, 12, 1, 2, 0, tzinfo=UTC)
CLERK = Actor(id="clerk-1", name="Nguyễn Văn A", role="unit_clerk", unit="hoa-tan")
REVIEWER = Actor(id="reviewer-1", name="Trần Thị B", role="reviewer")


class DossierState(enum.Enum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    WITHDRAWN = "withdrawn"


DRAFT, SUBMITTED, RETURNED, WITHDRAWN = DossierState

MOVES = [
    Move("submit", [DRAFT, RETURNED], SUBMITTED, "dossier.submitted"),
    Move("send_back", SUBMITTED, RETURNED, "dossier.returned"),
    Move("withdraw", [DRAFT, SUBMITTED, RETURNED], WITHDRAWN, "dossier.withdrawn"),
]
LIFECYCLE = Lifecycle("dossier", DossierState, DRAFT, MOVES)


class Dossier(Aggregate):
    """A plain aggregate: no mapper, just the state attribute the lifecycle reads and writes."""

    subject_type = "dossier"

    def __init__(self, id: str, campaign: str | None = "chau-thanh-2021", unit: str | None = "hoa-tan"):
        self.id = id
        self.campaign = campaign
        self.unit = unit
        self.state = DRAFT

    @property
    def campaign_code(self) -> str | None:
        return self.campaign

    @property
    def unit_code(self) -> str | None:
        return self.unit


class Note(Aggregate):
    """An aggregate that keeps the defaults: no campaign, no unit."""

    subject_type = "note"

    def __init__(self, id: int):
        self.id = id
        self.status = DRAFT


def dossier_in(state: DossierState, id: str = "hs-001") -> Dossier:
    dossier = Dossier(id)
    dossier.state = state
    return dossier


# --- firing ----------------------------------------------------------------


def test_a_move_announces_the_version_of_its_events_shape() -> None:
    versioned = Lifecycle(
        "dossier",
        DossierState,
        DRAFT,
        [Move("submit", DRAFT, SUBMITTED, "dossier.submitted", version=2), MOVES[1]],
    )
    dossier = Dossier("hs-002")

    submitted = versioned.fire(dossier, "submit", actor=CLERK, at=AT)
    sent_back = versioned.fire(dossier, "send_back", actor=REVIEWER, at=AT)

    assert (submitted.event_type, submitted.event_version) == ("dossier.submitted", 2)
    assert (sent_back.event_type, sent_back.event_version) == ("dossier.returned", 1), "version 1 unless told"


def test_fire_moves_the_state_and_returns_the_full_change() -> None:
    dossier = Dossier("hs-001")

    change = LIFECYCLE.fire(dossier, "submit", actor=CLERK, at=AT, reason="đủ hồ sơ", payload={"title": "Hồ sơ"})

    assert dossier.state is SUBMITTED
    assert isinstance(change, StateChange)
    assert change.subject_type == "dossier"
    assert change.subject_id == "hs-001"
    assert change.trigger == "submit"
    assert change.source == "draft"
    assert change.dest == "submitted"
    assert change.actor == CLERK
    assert change.at == AT
    assert change.reason == "đủ hồ sơ"
    assert change.event_type == "dossier.submitted"
    assert change.event_version == 1
    assert change.campaign == "chau-thanh-2021"
    assert change.unit == "hoa-tan"
    assert change.payload == {
        "title": "Hồ sơ",
        "trigger": "submit",
        "from_state": "draft",
        "to_state": "submitted",
        "reason": "đủ hồ sơ",
    }


def test_the_subject_id_is_the_aggregates_id_as_text() -> None:
    note = Note(42)
    lifecycle = Lifecycle("note", DossierState, DRAFT, MOVES, attribute="status")

    change = lifecycle.fire(note, "withdraw", actor=CLERK, at=AT)

    assert change.subject_id == "42"
    assert change.subject_type == "note"
    assert change.campaign is None
    assert change.unit is None


def test_without_a_payload_or_reason_the_payload_still_says_what_changed() -> None:
    change = LIFECYCLE.fire(Dossier("hs-001"), "withdraw", actor=CLERK, at=AT)

    assert change.reason is None
    assert change.payload == {"trigger": "withdraw", "from_state": "draft", "to_state": "withdrawn", "reason": None}


def test_the_callers_payload_cannot_misreport_the_transition() -> None:
    spoofed = {"trigger": "approve", "from_state": "approved", "to_state": "draft", "reason": "giả", "note": "giữ"}

    change = LIFECYCLE.fire(Dossier("hs-001"), "submit", actor=CLERK, at=AT, payload=spoofed)

    assert change.payload == {
        "note": "giữ",
        "trigger": "submit",
        "from_state": "draft",
        "to_state": "submitted",
        "reason": None,
    }
    assert spoofed["trigger"] == "approve"  # the caller's mapping is not changed


def test_a_fired_change_waits_in_pending_changes_until_pulled() -> None:
    dossier = Dossier("hs-001")

    change = LIFECYCLE.fire(dossier, "submit", actor=CLERK, at=AT)

    assert dossier.pending_changes == [change]
    assert dossier.pull_changes() == [change]
    assert dossier.pending_changes == []
    assert dossier.pull_changes() == []


def test_changes_pile_up_in_the_order_they_happened() -> None:
    dossier = Dossier("hs-001")

    LIFECYCLE.fire(dossier, "submit", actor=CLERK, at=AT)
    LIFECYCLE.fire(dossier, "send_back", actor=REVIEWER, at=AT + timedelta(days=1), reason="thiếu tờ trình")
    LIFECYCLE.fire(dossier, "submit", actor=CLERK, at=AT + timedelta(days=2))
    changes = dossier.pull_changes()

    assert [(c.trigger, c.source, c.dest) for c in changes] == [
        ("submit", "draft", "submitted"),
        ("send_back", "submitted", "returned"),
        ("submit", "returned", "submitted"),
    ]
    assert [c.actor for c in changes] == [CLERK, REVIEWER, CLERK]
    assert [c.sequence for c in changes] == sorted(c.sequence for c in changes)
    assert len({c.sequence for c in changes}) == 3
    assert dossier.state is SUBMITTED


def test_aggregates_keep_their_own_pending_changes() -> None:
    first, second = Dossier("hs-001"), Dossier("hs-002")

    LIFECYCLE.fire(first, "submit", actor=CLERK, at=AT)

    assert len(first.pending_changes) == 1
    assert second.pending_changes == []
    assert second.state is DRAFT


def test_an_aggregate_built_without_init_still_collects_changes() -> None:
    # The ORM builds loaded instances without calling __init__.
    dossier = Dossier.__new__(Dossier)
    dossier.id = "hs-009"
    dossier.campaign = None
    dossier.unit = None
    dossier.state = RETURNED

    change = LIFECYCLE.fire(dossier, "submit", actor=CLERK, at=AT)

    assert dossier.pending_changes == [change]


@pytest.mark.parametrize("source", [DRAFT, RETURNED])
def test_a_source_given_as_a_list_allows_the_trigger_from_each_of_its_states(source: DossierState) -> None:
    dossier = dossier_in(source)

    change = LIFECYCLE.fire(dossier, "submit", actor=CLERK, at=AT)

    assert dossier.state is SUBMITTED
    assert change.source == source.value


@pytest.mark.parametrize("source", [DRAFT, SUBMITTED, RETURNED])
def test_withdraw_is_allowed_from_every_open_state(source: DossierState) -> None:
    dossier = dossier_in(source)

    change = LIFECYCLE.fire(dossier, "withdraw", actor=CLERK, at=AT)

    assert dossier.state is WITHDRAWN
    assert (change.source, change.dest, change.event_type) == (source.value, "withdrawn", "dossier.withdrawn")


def test_a_lifecycle_can_keep_its_state_in_another_attribute() -> None:
    note = Note(7)
    lifecycle = Lifecycle("note", DossierState, DRAFT, MOVES, attribute="status")

    lifecycle.fire(note, "submit", actor=CLERK, at=AT)

    assert note.status is SUBMITTED
    assert not hasattr(note, "state")


# --- refusals --------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "trigger", "allowed"),
    [
        (DRAFT, "send_back", ["submit", "withdraw"]),
        (SUBMITTED, "submit", ["send_back", "withdraw"]),
        (RETURNED, "send_back", ["submit", "withdraw"]),
        (WITHDRAWN, "submit", []),
        (WITHDRAWN, "withdraw", []),
    ],
)
def test_an_illegal_trigger_names_the_state_the_trigger_and_the_allowed_triggers(
    state: DossierState, trigger: str, allowed: list[str]
) -> None:
    with pytest.raises(IllegalTransition) as raised:
        LIFECYCLE.fire(dossier_in(state, "hs-007"), trigger, actor=CLERK, at=AT)

    error = raised.value
    assert error.code == "illegal_transition"
    assert (error.subject_type, error.subject_id) == ("dossier", "hs-007")
    assert error.state == state.value
    assert error.trigger == trigger
    assert error.allowed == allowed
    assert f"dossier hs-007 is {state.value}: '{trigger}' is not allowed" in str(error)
    assert f"(allowed: {', '.join(allowed) or 'nothing'})" in str(error)


def test_an_illegal_trigger_leaves_the_state_and_the_pending_changes_untouched() -> None:
    dossier = Dossier("hs-001")
    earlier = LIFECYCLE.fire(dossier, "submit", actor=CLERK, at=AT)

    with pytest.raises(IllegalTransition):
        LIFECYCLE.fire(dossier, "submit", actor=CLERK, at=AT)

    assert dossier.state is SUBMITTED
    assert dossier.pending_changes == [earlier]


@pytest.mark.parametrize("trigger", ["approve", "", "to_withdrawn", "SUBMIT"])
def test_an_unknown_trigger_is_refused_like_an_illegal_one(trigger: str) -> None:
    dossier = Dossier("hs-001")

    with pytest.raises(IllegalTransition) as raised:
        LIFECYCLE.fire(dossier, trigger, actor=CLERK, at=AT)

    assert raised.value.state == "draft"
    assert raised.value.trigger == trigger
    assert raised.value.allowed == ["submit", "withdraw"]
    assert dossier.state is DRAFT
    assert dossier.pending_changes == []


@pytest.mark.parametrize(
    ("state", "allowed"),
    [
        (DRAFT, ["submit", "withdraw"]),
        (SUBMITTED, ["send_back", "withdraw"]),
        (RETURNED, ["submit", "withdraw"]),
        (WITHDRAWN, []),
    ],
)
def test_allowed_lists_the_triggers_of_a_state_in_declaration_order(state: DossierState, allowed: list[str]) -> None:
    assert LIFECYCLE.allowed(state) == allowed


def test_allowed_follows_the_declaration_not_the_alphabet() -> None:
    lifecycle = Lifecycle(
        "dossier",
        DossierState,
        DRAFT,
        [
            Move("withdraw", DRAFT, WITHDRAWN, "dossier.withdrawn"),
            Move("submit", DRAFT, SUBMITTED, "dossier.submitted"),
        ],
    )

    assert lifecycle.allowed(DRAFT) == ["withdraw", "submit"]


@pytest.mark.parametrize(
    "move",
    [
        Move("touch", DRAFT, DRAFT, "dossier.touched"),
        Move("resubmit", [RETURNED, SUBMITTED], SUBMITTED, "dossier.resubmitted"),
    ],
    ids=["single source", "list of sources"],
)
def test_a_move_back_to_one_of_its_sources_is_refused_at_construction(move: Move) -> None:
    with pytest.raises(ValueError, match=f"'{move.trigger}' must leave {move.dest.value}"):
        Lifecycle("dossier", DossierState, DRAFT, [*MOVES, move])


# --- one machine for every aggregate ---------------------------------------


def test_one_lifecycle_serves_many_aggregates_without_keeping_them() -> None:
    references = []
    for number in range(1000):
        dossier = Dossier(f"hs-{number:04}")
        LIFECYCLE.fire(dossier, "submit", actor=CLERK, at=AT)
        LIFECYCLE.fire(dossier, "withdraw", actor=CLERK, at=AT)
        assert dossier.state is WITHDRAWN
        references.append(weakref.ref(dossier))
    del dossier
    gc.collect()

    assert LIFECYCLE._machine.models == []
    assert sum(reference() is not None for reference in references) == 0
