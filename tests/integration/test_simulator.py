"""The simulator on the embedded stack (SQLite, the in-memory bus, a real HTTP server in this process).

The final awards are checked against what the pure rules of review give for the figures the simulator imported,
never against the simulator's own output.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from services.simulator import Report, embedded_target, plan_campaign, simulate, write_synthetic_campaign
from services.simulator.embedded import campaigns_folder
from shared.campaigns import Campaign, default_campaign
from shared.clock import LOCAL_TZ
from tests.simulation_expectations import expected_awards


def start_of(campaign: Campaign) -> datetime:
    return datetime(campaign.year, 12, 1, 7, 0, tzinfo=LOCAL_TZ)


def play(campaign: Campaign, data_dir: Path, seed: int) -> Report:
    lines: list[str] = []
    with embedded_target(data_dir, start_of(campaign), say=lines.append) as target:
        report = simulate(target, campaign, seed=seed, progress=lines.append, workers=4)
    assert any(line.startswith("submit on") for line in lines), "no progress was reported"
    return report


def check(report: Report, campaign: Campaign, seed: int) -> None:
    plan = plan_campaign(campaign, seed)
    expected = expected_awards(plan, campaign)

    collectives = {a.unit: (a.prize_name, a.amount) for a in report.awards if a.kind == "collective"}
    assert collectives == expected.collectives
    assert {a.unit for a in report.awards if a.kind == "individual"} == expected.individuals
    assert report.total == expected.total
    assert report.figures == {u.unit: u.official.as_dict() for u in plan.units}

    # Every unit's collective dossier, as intake shows it to the unit.
    states = {d.unit: d.state for d in report.dossiers if d.kind == "collective"}
    assert set(states) == {u.code for u in campaign.units}
    for unit in plan.units:
        if unit.submit_day is None:
            assert states[unit.unit] == "draft", "the late dossier was refused, so it never left the draft"
        elif unit.unit in expected.collectives:
            assert states[unit.unit] == "awarded"
        else:
            assert states[unit.unit] == "not_awarded", "a dossier never proposed hears so at the decision"
    assert {d.state for d in report.dossiers} <= {"draft", "awarded", "not_awarded"}, "none left waiting"
    assert all(d.reason for d in report.dossiers if d.state == "not_awarded"), "each told why"
    awarded = {d.unit: d.amount for d in report.dossiers if d.kind == "collective" and d.state == "awarded"}
    assert awarded == {unit: amount for unit, (_, amount) in expected.collectives.items()}

    assert (report.late.unit, report.late.status, report.late.code) == (plan.late.unit, 409, "deadline_passed")
    assert set(report.returned) == {u.unit for u in plan.units if u.returned and u.submit_day is not None}
    assert report.returned and report.overridden

    assert report.audit["status"] == "intact"
    assert report.audited == report.published, "audit logged every event the services published"
    assert report.dead_lettered == 0
    assert all(counts["outbox"]["pending"] == 0 for counts in report.bus.values())


def test_the_2021_campaign_ends_with_the_awards_its_rules_give(tmp_path: Path) -> None:
    campaign = default_campaign()

    report = play(campaign, tmp_path, seed=2021)

    check(report, campaign, 2021)
    assert report.total_words and report.decision_number


def test_a_synthetic_campaign_of_60_units(tmp_path: Path) -> None:
    seed = 3
    _, campaign = write_synthetic_campaign(60, seed, campaigns_folder(tmp_path))

    report = play(campaign, tmp_path, seed=seed)

    check(report, campaign, seed)
    assert {a.track for a in report.awards} == {"district", "commune"}
