"""What happens to each unit in a simulated campaign, decided up front from the seed. Pure: no I/O.

A plan is the whole script of the campaign before a single request is sent: each unit's official figures (what
the one-stop shop exported) and its self-scored ones, the day it submits, whether it also nominates a person,
and how review treats it — figures that match, a small difference approved with an override and a note, or a
difference too large that is returned for correction; a missing signature returned for a new document. One unit
leaves its submission until after the deadline and is refused. The same seed gives the same plan, so the same
final awards.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from shared.campaigns import Campaign

COUNT_FIELDS = ("online_case_files", "total_case_files", "online_procedures", "total_procedures")

# Shares of the units, per seed; each at least one unit so every path of the scenario is played.
SMALL_DIFFERENCE_SHARE = 0.10
LARGE_DIFFERENCE_SHARE = 0.08
DOCUMENT_RETURN_SHARE = 0.05
# A unit doing well nominates its best civil servant too; a few others try their luck.
INDIVIDUAL_RATE = 0.75
INDIVIDUAL_CHANCE = 0.15
# A self-score this close to the official one (at most this many case files) is a typing slip a reviewer
# approves with a note; anything further is returned for the unit to correct.
SMALL_DIFFERENCE = 3
# Submission days are days of December of the campaign's year: 1 to 6 (the deadline); returned units submit
# early enough to be reviewed on day 4 and resubmit on day 5.
FIRST_DAY, REVIEW_DAY, RESUBMIT_DAY, LAST_DAY = 1, 4, 5, 6


class Figures(StrEnum):
    """How a collective's self-scored figures compare with the official ones."""

    MATCH = "match"
    SMALL = "small"  # approved with an override and a note
    LARGE = "large"  # returned; the unit corrects them to the official figures


@dataclass(frozen=True)
class Counts:
    online_case_files: int
    total_case_files: int
    online_procedures: int
    total_procedures: int

    def as_dict(self) -> dict[str, int]:
        return {field: getattr(self, field) for field in COUNT_FIELDS}


@dataclass(frozen=True)
class UnitPlan:
    unit: str
    track: str
    official: Counts
    declared: Counts  # what the clerk self-scores first
    figures: Figures
    document_return: bool  # returned once for an unsigned biên bản, revised with a new upload
    individual: bool  # the unit also nominates a person
    submit_day: int | None  # None: the late unit, which tries on the day after the deadline

    @property
    def returned(self) -> bool:
        return self.figures is Figures.LARGE or self.document_return


@dataclass(frozen=True)
class Plan:
    campaign: str
    seed: int
    units: tuple[UnitPlan, ...]

    @property
    def late(self) -> UnitPlan:
        return next(u for u in self.units if u.submit_day is None)

    @property
    def on_time(self) -> tuple[UnitPlan, ...]:
        return tuple(u for u in self.units if u.submit_day is not None)

    def official_figures(self) -> dict[str, Counts]:
        """The figures review imports: every unit's, the late one's too (the one-stop shop knows nothing of it)."""
        return {u.unit: u.official for u in self.units}


def plan_campaign(campaign: Campaign, seed: int) -> Plan:
    """The script of ``campaign`` for ``seed``."""
    rng = random.Random(f"{campaign.code}:{seed}")
    codes = [unit.code for unit in campaign.units]
    chosen = _shuffled(codes, rng)
    size = len(codes)
    large = set(chosen[: _share(size, LARGE_DIFFERENCE_SHARE)])
    rest = chosen[len(large) :]
    small = set(rest[: _share(size, SMALL_DIFFERENCE_SHARE)])
    rest = rest[len(small) :]
    documents = set(rest[: _share(size, DOCUMENT_RETURN_SHARE)])
    late = rest[len(documents)]
    units = []
    for unit in campaign.units:
        official = _official(rng, unit.level4_procedures)
        kind = Figures.LARGE if unit.code in large else Figures.SMALL if unit.code in small else Figures.MATCH
        returned = kind is Figures.LARGE or unit.code in documents
        day = None if unit.code == late else rng.randint(FIRST_DAY, REVIEW_DAY if returned else LAST_DAY)
        units.append(
            UnitPlan(
                unit=unit.code,
                track=unit.track,
                official=official,
                declared=_declared(official, kind, rng),
                figures=kind,
                document_return=unit.code in documents,
                individual=official.online_case_files >= INDIVIDUAL_RATE * official.total_case_files
                or rng.random() < INDIVIDUAL_CHANCE,
                submit_day=day,
            )
        )
    return Plan(campaign.code, seed, tuple(units))


def _shuffled(codes: list[str], rng: random.Random) -> list[str]:
    shuffled = list(codes)
    rng.shuffle(shuffled)
    return shuffled


def _share(size: int, share: float) -> int:
    return max(1, round(size * share))


def _official(rng: random.Random, level4_procedures: int | None) -> Counts:
    """Figures spread around both targets (60 % and 50 % in 2021), so some units meet them and some do not."""
    total_cases = rng.randint(200, 3000)
    online_cases = round(total_cases * rng.uniform(0.35, 0.98))
    procedures = level4_procedures or rng.randint(8, 60)
    online_procedures = min(procedures, round(procedures * rng.uniform(0.3, 1.0)))
    return Counts(online_cases, total_cases, online_procedures, procedures)


def _declared(official: Counts, kind: Figures, rng: random.Random) -> Counts:
    if kind is Figures.MATCH:
        return official
    if kind is Figures.SMALL:
        delta = rng.randint(1, SMALL_DIFFERENCE)
    else:
        delta = rng.randint(SMALL_DIFFERENCE + 20, SMALL_DIFFERENCE + 200)
    online = min(official.total_case_files, official.online_case_files + delta)
    if online == official.online_case_files:  # already at the total: the unit overstated the other way
        online = max(0, online - delta)
    return Counts(online, official.total_case_files, official.online_procedures, official.total_procedures)


def differs_little(declared: Mapping[str, int], official: Mapping[str, int]) -> bool:
    """Whether a reviewer may approve the difference with a note rather than return the dossier."""
    return all(abs(declared[field] - official[field]) <= SMALL_DIFFERENCE for field in COUNT_FIELDS)
