"""The campaign's rules for the review: targets, who may be ranked, the ranking, the prizes and the individuals.

Pure Python: values in, values out, no Flask, SQLAlchemy or kombu. Every reading of the plan that could be made
differently comes from ``campaign.rules`` (and ``campaign.individuals``), never from a constant here.

Rates are exact ``Fraction``s and are compared exactly (59.999 % is below 60 %); they are rounded only where a
sentence shows them (``format_percent``).

    Standing (status + official counts) ──place_track──▶ Placing (targets, out codes, rank, tie, prize)
    IndividualCandidate + placings ──judge_individuals──▶ IndividualVerdict
    Placing / IndividualVerdict not proposed ──collective_left_out / individual_left_out──▶ the unit's reason
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from fractions import Fraction

from shared.campaigns import Campaign, Prize, Track
from shared.rates import format_percent

__all__ = [
    "OUT_REASONS",
    "STATUS_OUT",
    "Counts",
    "IndividualCandidate",
    "IndividualVerdict",
    "Placing",
    "Rejection",
    "Standing",
    "Status",
    "TargetResult",
    "assess_targets",
    "collective_left_out",
    "individual_left_out",
    "judge_individuals",
    "meets_targets",
    "out_reason",
    "place_campaign",
    "place_track",
]


# --- the official figures and the targets ---------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    """One unit's row of Phụ lục 2, from the one-stop-shop system: online and total, for case files and procedures."""

    online_case_files: int
    total_case_files: int
    online_procedures: int
    total_procedures: int

    def __post_init__(self) -> None:
        for what in ("case_files", "procedures"):
            online, total = getattr(self, f"online_{what}"), getattr(self, f"total_{what}")
            if online < 0 or total < 0:
                raise ValueError(f"counts of {what} must not be negative (online {online}, total {total})")
            if online > total:
                raise ValueError(f"online {what} ({online}) must not exceed the total ({total})")

    def case_file_rate(self) -> Fraction | None:
        """Online case files ÷ all case files; None when there were none ("a total of zero gives no rate")."""
        return _rate(self.online_case_files, self.total_case_files)

    def procedure_coverage(self) -> Fraction | None:
        """Level-4 procedures with an online case file ÷ all level-4 procedures; None when the unit has none."""
        return _rate(self.online_procedures, self.total_procedures)

    def value(self, key: str) -> Fraction | int | None:
        """The metric a target or a ranking key names (``shared.campaigns.RANKING_KEYS``)."""
        if key == "case_file_rate":
            return self.case_file_rate()
        if key == "procedure_coverage":
            return self.procedure_coverage()
        if key == "online_case_files":
            return self.online_case_files
        if key == "online_procedures":
            return self.online_procedures
        raise KeyError(f"No metric {key!r} in the one-stop-shop counts")


def _rate(online: int, total: int) -> Fraction | None:
    return Fraction(online, total) if total else None


@dataclass(frozen=True)
class TargetResult:
    code: str
    name: str
    rate: Fraction | None
    threshold: Fraction
    met: bool


def assess_targets(counts: Counts, campaign: Campaign) -> tuple[TargetResult, ...]:
    """Each of the campaign's targets, in the campaign's order; a rate reaching the threshold exactly meets it."""
    results = []
    for target in campaign.targets:
        rate = counts.value(target.code)
        met = campaign.rules.zero_total_meets_target if rate is None else rate >= target.threshold
        exact = None if rate is None else Fraction(rate)
        results.append(TargetResult(target.code, target.name, exact, target.threshold, met))
    return tuple(results)


def meets_targets(results: Iterable[TargetResult], campaign: Campaign) -> bool:
    """Whether the unit "đạt và vượt chỉ tiêu": all targets met, or any one, as the campaign says (none: met)."""
    met = [result.met for result in results]
    if not met:
        return True
    if campaign.rules.targets_required == "any":
        return any(met)
    return all(met)


# --- where a unit stands, and where it is placed --------------------------------------------------------


class Status(StrEnum):
    """Where a nomination stands in review; only an appraised one may be ranked or awarded."""

    APPRAISED = "appraised"  # every review step approved
    IN_REVIEW = "in_review"  # submitted, the steps not all approved yet
    RETURNED = "returned"
    WITHDRAWN = "withdrawn"
    REJECTED = "rejected"
    NO_DOSSIER = "no_dossier"


#: The out code of each status that keeps a nomination out, in the order out codes are listed.
STATUS_OUT: Mapping[Status, str] = {
    Status.NO_DOSSIER: "no_dossier",
    Status.WITHDRAWN: "withdrawn",
    Status.RETURNED: "returned",
    Status.REJECTED: "rejected",
    Status.IN_REVIEW: "in_review",
}

#: What each fixed out code means, in the reviewer's words. A missed target's code ("case_file_rate_missed") is
#: not here: its sentence names the campaign's own target and threshold, see ``out_reason``.
OUT_REASONS: dict[str, str] = {
    "no_dossier": "Không có hồ sơ đề nghị khen thưởng.",
    "withdrawn": "Hồ sơ đề nghị khen thưởng đã được rút.",
    "returned": "Hồ sơ đã bị trả lại để bổ sung và chưa được thẩm định lại.",
    "rejected": "Hồ sơ không được thẩm định đạt.",
    "in_review": "Hồ sơ đang được thẩm định, chưa được thông qua ở tất cả các bước.",
    "no_figures": "Chưa có số liệu chính thức của đơn vị trên hệ thống một cửa điện tử.",
    "no_level4_procedures": (
        "Đơn vị không có thủ tục hành chính mức độ 4; chỉ các đơn vị có thực hiện TTHC mức độ 4 được xét khen thưởng."
    ),
    "unit_wins_no_prize": "Đơn vị không đạt giải tập thể, nên cá nhân không đủ điều kiện khen thưởng.",
    "depends_on_council": (
        "Đơn vị đồng hạng với đơn vị khác mà số giải ít hơn số đơn vị đồng hạng; Hội đồng Thi đua - Khen thưởng "
        "quyết định đơn vị nào đạt giải, nên cá nhân chưa đủ điều kiện cho đến khi Hội đồng quyết định."
    ),
    "second_individual_of_unit": "Đơn vị đã có đủ số cá nhân được đề nghị khen thưởng theo quy định.",
    "over_campaign_quota": "Đã đủ số cá nhân được khen thưởng của phong trào.",
}

_MISSED = "_missed"


def out_reason(code: str, campaign: Campaign) -> str:
    """The sentence for an out code, naming the campaign's own targets, thresholds and quotas."""
    if code.endswith(_MISSED):
        target = campaign.target(code.removesuffix(_MISSED))
        return f"Chưa đạt chỉ tiêu {_lower_first(target.name)} ({format_percent(target.threshold)})."
    if code == "second_individual_of_unit":
        quota = campaign.individuals.per_winning_unit
        return f"Mỗi đơn vị đạt giải chỉ được đề nghị {quota} cá nhân; đơn vị đã có cá nhân khác được đề nghị."
    if code == "over_campaign_quota":
        return f"Đã đủ {campaign.individuals.max_total} cá nhân được khen thưởng của phong trào."
    return OUT_REASONS[code]


def _lower_first(name: str) -> str:
    """Inside a sentence "Tỷ lệ …" reads "tỷ lệ …"; an acronym ("TTHC …") keeps its capitals."""
    if len(name) > 1 and name[0].isupper() and name[1].islower():
        return name[0].lower() + name[1:]
    return name


@dataclass(frozen=True)
class Standing:
    """A unit's collective nomination as review sees it: its status and its official figures (None: none yet)."""

    unit: str
    status: Status
    counts: Counts | None


@dataclass(frozen=True)
class Placing:
    unit: str
    track: str
    counts: Counts | None
    targets: tuple[TargetResult, ...]  # empty when counts is None
    meets_targets: bool
    qualifies: bool  # may be ranked for a prize
    out: tuple[str, ...]  # why not, as out codes; empty when it qualifies
    rank: int | None  # competition ranking among the track's qualifying units: 1, 1, 3 …
    tie: tuple[str, ...]  # the other qualifying units it ties with on every ranking key
    prize: Prize | None  # the provisional prize; None if none, or undecided (a tie for the council)
    contested: tuple[int, ...]  # prize ranks its tie group must share out (council policy), else ()


def place_campaign(standings: Sequence[Standing], campaign: Campaign) -> dict[str, list[Placing]]:
    """Every track of the campaign, keyed by track code, in the campaign's order."""
    return {track.code: place_track(standings, campaign, track.code) for track in campaign.tracks}


def place_track(standings: Sequence[Standing], campaign: Campaign, track: str) -> list[Placing]:
    """One Placing per unit of the track: the qualifying units by rank, then the others, all in a stable order.

    A unit of the track without a Standing is placed as one with no dossier and no figures, so the reviewer
    sees every unit. A Standing for a unit the campaign does not have, or two for one unit, is an error.
    """
    ladder = campaign.track(track)  # a KeyError for a track the campaign lacks
    _require_supported(campaign)
    by_unit = _index(standings, campaign)
    keys = campaign.rules.ranking_keys
    assessed = [
        _assess(by_unit.get(unit.code) or Standing(unit.code, Status.NO_DOSSIER, None), campaign, track)
        for unit in campaign.units_of(track)
    ]
    qualifying = sorted((p for p in assessed if p.qualifies), key=lambda p: (_sort_key(p.counts, keys), p.unit))
    others = sorted((p for p in assessed if not p.qualifies), key=lambda p: (_sort_key(p.counts, keys), p.unit))
    return [*_rank(qualifying, ladder, campaign), *others]


def _require_supported(campaign: Campaign) -> None:
    """Prizes go by position among qualifying units, so a track can never get more prizes than it has
    qualifying units; a campaign asking for anything else asks for a reading nobody has defined yet."""
    if not campaign.rules.prizes_never_exceed_qualifying:
        raise ValueError(
            f"Campaign {campaign.code!r} sets prizes_never_exceed_qualifying = false; the review rules define "
            "no reading of the plan in which a track gets more prizes than it has qualifying units."
        )


def _index(standings: Sequence[Standing], campaign: Campaign) -> dict[str, Standing]:
    by_unit: dict[str, Standing] = {}
    for standing in standings:
        campaign.unit(standing.unit)  # a KeyError naming the known units, for a unit the campaign lacks
        if standing.unit in by_unit:
            raise ValueError(f"Two standings for unit {standing.unit!r}")
        by_unit[standing.unit] = standing
    return by_unit


def _assess(standing: Standing, campaign: Campaign, track: str) -> Placing:
    """Targets and out codes, for every unit that has figures, whether or not it may be ranked."""
    out: list[str] = []
    if standing.status is not Status.APPRAISED:
        out.append(STATUS_OUT[standing.status])
    counts = standing.counts
    targets: tuple[TargetResult, ...] = ()
    met = False
    if counts is None:
        out.append("no_figures")
    else:
        if counts.total_procedures == 0:
            out.append("no_level4_procedures")
        targets = assess_targets(counts, campaign)
        met = meets_targets(targets, campaign)
        if not met:
            out.extend(f"{result.code}{_MISSED}" for result in targets if not result.met)
    return Placing(
        unit=standing.unit,
        track=track,
        counts=counts,
        targets=targets,
        meets_targets=met,
        qualifies=not out,
        out=tuple(out),
        rank=None,
        tie=(),
        prize=None,
        contested=(),
    )


def _values(counts: Counts | None, keys: Sequence[str]) -> tuple[Fraction | int | None, ...]:
    if counts is None:
        return tuple(None for _ in keys)
    return tuple(counts.value(key) for key in keys)


def _sort_key(counts: Counts | None, keys: Sequence[str]) -> tuple[tuple[bool, Fraction | int], ...]:
    """Descending on every key, with a missing value (no rate, no figures) after every real one."""
    return tuple((value is None, -value if value is not None else 0) for value in _values(counts, keys))


def _rank(qualifying: list[Placing], track: Track, campaign: Campaign) -> list[Placing]:
    """Competition ranking (1, 1, 3) over units already sorted; prizes from the top of the ladder by position."""
    keys = campaign.rules.ranking_keys
    ladder = track.prizes
    share = campaign.rules.tie_policy == "share"
    placed: list[Placing] = []
    start = 0
    while start < len(qualifying):
        values = _values(qualifying[start].counts, keys)
        end = start
        while end < len(qualifying) and _values(qualifying[end].counts, keys) == values:
            end += 1
        group = qualifying[start:end]
        first = start + 1  # the group holds positions first .. first + len(group) - 1
        in_ladder = tuple(ladder[pos - 1].rank for pos in range(first, first + len(group)) if pos <= len(ladder))
        prize = ladder[first - 1] if first <= len(ladder) else None
        for member in group:
            won: Prize | None
            contested: tuple[int, ...]
            others = tuple(other.unit for other in group if other is not member)
            if len(group) == 1 or share:
                won, contested = prize, ()
            else:
                won, contested = None, in_ladder
            placed.append(replace(member, rank=first, tie=others, prize=won, contested=contested))
        start = end
    return placed


# --- individuals ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IndividualCandidate:
    unit: str
    dossier_id: str
    status: Status  # of the individual's own nomination


@dataclass(frozen=True)
class IndividualVerdict:
    unit: str
    dossier_id: str
    valid: bool
    out: tuple[str, ...]


def judge_individuals(
    candidates: Sequence[IndividualCandidate], placings: Mapping[str, Sequence[Placing]], campaign: Campaign
) -> list[IndividualVerdict]:
    """One verdict per candidate, in the order given (the caller passes them in the order they were submitted).

    Valid: its own nomination appraised, its unit winning a collective prize (or in a tie group the council must
    share out that has a prize for every member), within the per-unit quota and within the campaign's total.
    The quotas count valid nominations only, first come first served.
    """
    by_unit = {placing.unit: placing for track in placings.values() for placing in track}
    per_unit: dict[str, int] = {}
    total = 0
    verdicts = []
    for candidate in candidates:
        campaign.unit(candidate.unit)
        if candidate.unit not in by_unit:
            raise KeyError(f"No placing for unit {candidate.unit!r}: place its track before judging individuals")
        out: list[str] = []
        if candidate.status is not Status.APPRAISED:
            out.append(STATUS_OUT[candidate.status])
        unit_out = _unit_prize_out(by_unit[candidate.unit])
        if unit_out:
            out.append(unit_out)
        if not out:
            if per_unit.get(candidate.unit, 0) >= campaign.individuals.per_winning_unit:
                out.append("second_individual_of_unit")
            elif total >= campaign.individuals.max_total:
                out.append("over_campaign_quota")
        if not out:
            per_unit[candidate.unit] = per_unit.get(candidate.unit, 0) + 1
            total += 1
        verdicts.append(IndividualVerdict(candidate.unit, candidate.dossier_id, valid=not out, out=tuple(out)))
    return verdicts


def _unit_prize_out(placing: Placing) -> str | None:
    """None when the unit surely wins a collective prize, else why its individual cannot be awarded (yet)."""
    if placing.prize is not None:
        return None
    if placing.contested:
        group_size = len(placing.tie) + 1
        return None if len(placing.contested) >= group_size else "depends_on_council"
    return "unit_wins_no_prize"


# --- why a nomination is not proposed -------------------------------------------------------------------


@dataclass(frozen=True)
class Rejection:
    """The step a reviewer did not approve, as reviewers name it, and their note."""

    step: str
    note: str


#: The counts each target's rate divides, and what they count, so a missed target is told with the unit's figures.
_RATE_PARTS: Mapping[str, tuple[str, str, str]] = {
    "case_file_rate": ("online_case_files", "total_case_files", "hồ sơ"),
    "procedure_coverage": ("online_procedures", "total_procedures", "thủ tục"),
}


def collective_left_out(placing: Placing, campaign: Campaign, rejection: Rejection | None = None) -> str:
    """Why a unit's collective nomination is not proposed, in sentences its clerk can understand or act on.

    A unit that qualifies but is placed below the prizes is told its rank and how many prizes its track has; any
    other is told every out code, a missed target with the unit's own official figures, a rejection with the step
    and the reviewer's note. A placing that is proposed (a prize, or a tie the council shares out) has no reason.
    """
    if placing.prize is not None or placing.contested:
        raise ValueError(f"Unit {placing.unit!r} is proposed for a prize; it has no reason to be left out")
    if placing.qualifies:
        track = campaign.track(placing.track)
        return (
            f"Đơn vị đạt chỉ tiêu, xếp hạng {placing.rank} trong khối “{track.name}”; khối chỉ có "
            f"{len(track.prizes)} giải, dành cho các đơn vị xếp trên."
        )
    return _explain(placing.out, campaign, placing.counts, rejection)


def individual_left_out(verdict: IndividualVerdict, campaign: Campaign, rejection: Rejection | None = None) -> str:
    """Why an individual nomination is not proposed: its own review, or its unit's place, or a quota."""
    if verdict.valid:
        raise ValueError(f"The individual of {verdict.unit!r} is valid; it has no reason to be left out")
    return _explain(verdict.out, campaign, None, rejection)


def _explain(codes: Sequence[str], campaign: Campaign, counts: Counts | None, rejection: Rejection | None) -> str:
    sentences = []
    for code in codes:
        if code == "rejected" and rejection is not None:
            note = rejection.note.strip()
            end = "" if note.endswith((".", "!", "?", "…")) else "."
            sentences.append(f"Hồ sơ không được thông qua ở bước “{rejection.step}”: {note}{end}")
        elif code.endswith(_MISSED) and counts is not None:
            sentences.append(_missed_with_figures(code.removesuffix(_MISSED), counts, campaign))
        else:
            sentences.append(out_reason(code, campaign))
    return " ".join(sentences)


def _missed_with_figures(target_code: str, counts: Counts, campaign: Campaign) -> str:
    """ "Chưa đạt chỉ tiêu tỷ lệ … (60,00 %): đơn vị đạt 45,00 % (450/1.000 hồ sơ)." """
    target = campaign.target(target_code)
    online_field, total_field, noun = _RATE_PARTS[target_code]
    online, total = getattr(counts, online_field), getattr(counts, total_field)
    rate = counts.value(target_code)
    reached = (
        f"đơn vị đạt {_below(Fraction(rate), target.threshold)} ({_figure(online)}/{_figure(total)} {noun})"
        if rate is not None
        else f"đơn vị không có {noun} nào nên chưa có tỷ lệ"
    )
    return f"Chưa đạt chỉ tiêu {_lower_first(target.name)} ({format_percent(target.threshold)}): {reached}."


def _below(rate: Fraction, threshold: Fraction) -> str:
    """The rate with as many decimals as it takes not to read as the threshold: 59,999 % is never "60,00 %"."""
    places = 2
    while format_percent(rate, places) == format_percent(threshold, places) and places < 6:
        places += 1
    return format_percent(rate, places)


def _figure(count: int) -> str:
    """1000 → "1.000": Vietnamese documents group digits with dots."""
    return f"{count:,}".replace(",", ".")
