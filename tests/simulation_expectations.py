"""What a simulated campaign must end with, computed independently of the simulator from its plan.

The pure rules of review (``services/review/rules.py``) rank the units on the official figures the plan imports;
every unit that submitted on time is appraised (the returned ones come back corrected), the late one has no
dossier in review, and the council approves every candidate, so the awards are exactly the rules' prizes and the
individuals the rules find valid.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.review.rules import Counts, IndividualCandidate, Standing, Status, judge_individuals, place_campaign
from services.simulator.plan import Plan
from shared.campaigns import Campaign


@dataclass(frozen=True)
class Expected:
    collectives: dict[str, tuple[str, int]]  # unit -> (prize name, amount)
    individuals: set[str]  # units whose nominee is awarded
    total: int


def expected_awards(plan: Plan, campaign: Campaign) -> Expected:
    standings = [
        Standing(
            u.unit, Status.APPRAISED if u.submit_day is not None else Status.NO_DOSSIER, Counts(**u.official.as_dict())
        )
        for u in plan.units
    ]
    placings = place_campaign(standings, campaign)
    contested = [p.unit for track in placings.values() for p in track if p.contested]
    assert not contested, f"a tie for the council in this seed; the test expects none: {contested}"
    collectives = {
        p.unit: (p.prize.name, p.prize.amount) for track in placings.values() for p in track if p.prize is not None
    }
    candidates = [
        IndividualCandidate(u.unit, f"{u.unit}-individual", Status.APPRAISED)
        for u in plan.units
        if u.individual and u.submit_day is not None
    ]
    individuals = {v.unit for v in judge_individuals(candidates, placings, campaign) if v.valid}
    total = sum(amount for _, amount in collectives.values()) + len(individuals) * campaign.individuals.amount
    return Expected(collectives, individuals, total)
