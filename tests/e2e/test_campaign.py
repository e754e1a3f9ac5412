"""The whole 2021 campaign on real infrastructure: four services as separate processes over RabbitMQ and
PostgreSQL, played through their routes by the simulator, from the clerks' drafts to the chair's decision."""

from __future__ import annotations

import pytest

from services.bootstrap import SERVICE_NAMES
from shared.money import vnd_in_words
from tests.agreement import assert_audit_agrees
from tests.e2e.campaign import FINAL_STATES, assert_nothing_lost, campaign, expected_awards
from tests.e2e.cluster import request
from tests.e2e.conftest import Baseline

pytestmark = [pytest.mark.rabbitmq, pytest.mark.postgres, pytest.mark.timeout(900)]


def test_the_2021_campaign_ends_with_the_awards_the_rules_give_for_the_imported_figures(baseline: Baseline) -> None:
    report, state, rules = baseline.report, baseline.state, campaign()
    collectives = {
        (track, unit, prize, amount) for track, unit, kind, prize, amount in state.awards if kind == "collective"
    }
    assert collectives == expected_awards(report, rules)
    assert len(collectives) == 6, "three prizes in each track, as the figures of 2021 fill both ladders"

    individuals = {unit for _, unit, kind, _, _ in state.awards if kind == "individual"}
    winners_with_a_nominee = {unit for _, unit, _, _ in collectives if (unit, "individual") in state.outcomes}
    assert individuals == winners_with_a_nominee, "one person of each winning unit that nominated one"
    for _, _, kind, _, amount in state.awards:
        if kind == "individual":
            assert amount == rules.individuals.amount == 230_000

    assert state.total == sum(amount for *_, amount in state.awards) == report.total
    assert report.total_words == vnd_in_words(state.total)


def test_each_unit_sees_its_outcome_in_intake_and_the_late_unit_was_refused(baseline: Baseline) -> None:
    report, state = baseline.report, baseline.state
    prizes = {(unit, kind): (prize, amount) for _, unit, kind, prize, amount in state.awards}
    late = report.late.unit
    assert (report.late.status, report.late.code) == (409, "deadline_passed")
    assert state.outcomes[(late, "collective")][0] == "draft", "the late dossier was never accepted"

    assert len(state.proposed) >= 6, "the council considered every prize-winning collective"
    for key in state.proposed:
        outcome = state.outcomes[key]
        if key in prizes:
            assert outcome == ("awarded", *prizes[key]), key
        else:
            assert outcome == ("not_awarded", None, 0), key
    assert {d.unit for d in report.dossiers} == {u.code for u in campaign().units}, "all 21 units took part"
    assert report.returned, "some dossiers were returned, corrected and resubmitted"
    for unit in report.returned:
        assert state.outcomes[(unit, "collective")][0] != "returned", f"{unit} never resubmitted"


def test_every_dossier_the_council_never_saw_is_told_its_outcome_too(baseline: Baseline) -> None:
    """A dossier review does not propose (no prize, or an individual whose unit won none) is refused by the
    chair's decision with the reason, so no unit is left waiting: nothing stays submitted after the decision."""
    late = baseline.report.late.unit
    never_proposed = {
        key: outcome[0]
        for key, outcome in baseline.state.outcomes.items()
        if key not in baseline.state.proposed and key[0] != late
    }
    assert never_proposed, "some dossiers were not proposed"
    assert all(state in FINAL_STATES for state in never_proposed.values()), never_proposed


def test_the_audit_chain_is_intact_and_agrees_with_every_services_own_history(baseline: Baseline) -> None:
    cluster = baseline.cluster
    auditor = cluster.token("auditor", "Kiểm toán viên")
    status, verdict = request("GET", f"{cluster.url('audit')}/audit/verify", auditor)
    assert status == 200 and verdict["status"] == "intact", verdict
    assert_nothing_lost(baseline.books)
    checked = assert_audit_agrees({s: cluster.engine(s) for s in SERVICE_NAMES}, cluster.engine("audit"))
    assert checked == verdict["entries"] == len(baseline.books.audited), "every entry is some service's event"
    status, timeline = request(
        "GET", f"{cluster.url('audit')}/audit/subjects/{baseline.report.dossiers[0].dossier_id}", auditor
    )
    assert status == 200, timeline
