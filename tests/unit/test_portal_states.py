"""The portal names every event type of the catalogue in Vietnamese: a new type without a name fails here."""

from __future__ import annotations

from services.portal.states import EVENT_NAMES, event_name
from shared.catalogue import CATALOGUE


def test_every_catalogue_type_has_a_vietnamese_name_and_no_name_is_left_over() -> None:
    catalogue = {type_ for type_, _ in CATALOGUE.types()}
    assert sorted(catalogue - EVENT_NAMES.keys()) == [], "event types the auditor's pages would show as codes"
    assert sorted(EVENT_NAMES.keys() - catalogue) == [], "names of types the catalogue no longer has"
    assert len(set(EVENT_NAMES.values())) == len(EVENT_NAMES), "two types an auditor could not tell apart"


def test_a_type_the_catalogue_does_not_know_is_shown_as_its_code() -> None:
    assert event_name("dossier.submitted") == "Nộp hồ sơ"
    assert event_name("something.new") == "something.new"
