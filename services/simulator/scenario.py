"""A whole campaign played through the HTTP routes, as its people would, on the dates of the plan.

The simulator is a client of the four services and nothing else: it never opens a database or the bus. It signs
the people's tokens with the system's key, and turns the page from one day to the next with the replay clock
(``THIDUA_CLOCK_FILE``), so deadlines are met and missed as in the plan: clerks prepare and submit between 01/12
and 06/12, reviewers return some dossiers which come back corrected, a late submission on 07/12 is refused, the
proposal is signed by 15/12, Home Affairs appraises, the council votes on 20/12 and the chair decides.
Asynchronous work (a submission reaching review, the proposal reaching awards, outcomes reaching intake) is
awaited with a bounded poll of the routes that names what never arrived.
"""

from __future__ import annotations

import csv
import io
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as time_of_day
from pathlib import Path
from typing import Any, TypeVar

from services.simulator.client import ApiError, Client, wait_for
from services.simulator.plan import COUNT_FIELDS, Plan, UnitPlan, differs_little, plan_campaign
from services.simulator.synthetic import document, document_files
from shared.auth import Principal, TokenAuthority
from shared.campaigns import Campaign, CouncilMember
from shared.clock import LOCAL_TZ, write_clock_file

T = TypeVar("T")

SERVICES = ("intake", "review", "awards", "audit")
REVIEW_UNIT, HOME_AFFAIRS_UNIT = "van-hoa-thong-tin", "noi-vu"
TOKEN_HOURS = 24 * 366  # a token outlives the campaign, whichever clock signed it
CONFLICT_ATTEMPTS = 20  # tries of one request refused with 409 concurrent_update: its write lost a race
CONFLICT_PAUSE_SECONDS = 0.01  # the longest random pause before the first retry; it doubles with each one
CONFLICT_PAUSE_MAX_SECONDS = 2.0
# Days of December; the hours are local time.
PREPARE, REVIEW_WAVE, LATE, PROPOSAL, APPRAISAL, COUNCIL = 1, 4, 7, 10, 16, 20

Mover = Callable[[datetime], None]


class SimulationError(Exception):
    """The system did not behave as the plan says it must; the message says where."""


class ClockFile:
    """Moves every process of the system to an instant by rewriting the shared clock file (THIDUA_CLOCK_FILE).

    Processes look at the file at most every 0.2 s, so after writing it this waits ``settle_seconds`` before the
    next request may rely on the new day; no route shows the servers' time to poll instead.
    """

    def __init__(self, path: Path, settle_seconds: float = 0.5) -> None:
        self.path = path
        self.settle_seconds = settle_seconds

    def __call__(self, instant: datetime) -> None:
        write_clock_file(self.path, instant)
        time.sleep(self.settle_seconds)


@dataclass(frozen=True)
class Target:
    """Where the system answers and how to act in it.

    ``urls`` maps each service to the base URL serving it (the ``/intake`` … prefix is added by the simulator; one
    URL for all four behind a proxy or ``thidua run``). ``tokens`` signs the people's tokens with the system's key;
    ``clock`` moves the system's clock to an instant (a :class:`ClockFile`, or ``FixedClock.set`` in-process).
    ``timeout`` bounds every wait for asynchronous work.
    """

    urls: Mapping[str, str]
    tokens: TokenAuthority
    clock: Mover
    timeout: float = 120.0


@dataclass(frozen=True)
class AwardRow:
    track: str
    unit: str
    kind: str  # collective or individual
    prize_name: str
    amount: int
    certificate_number: str


@dataclass(frozen=True)
class DossierOutcome:
    """A dossier as intake shows it to its unit at the end."""

    dossier_id: str
    unit: str
    kind: str
    state: str
    prize_name: str | None = None
    amount: int = 0
    reason: str | None = None


@dataclass(frozen=True)
class Refusal:
    unit: str
    status: int
    code: str | None


@dataclass(frozen=True)
class Report:
    campaign: str
    seed: int
    awards: tuple[AwardRow, ...]
    total: int
    total_words: str
    dossiers: tuple[DossierOutcome, ...]
    late: Refusal
    figures: Mapping[str, Mapping[str, int]]  # the official figures imported, per unit
    returned: tuple[str, ...]  # units whose collective was returned once and resubmitted
    overridden: tuple[str, ...]  # units whose small difference a reviewer approved with a note
    decision_number: str
    bus: Mapping[str, Mapping[str, Any]]  # GET /<service>/bus of each service
    audit: Mapping[str, Any]  # GET /audit/verify
    seconds: float
    requests: int
    conflicts: int  # requests tried again after 409 concurrent_update

    @property
    def published(self) -> int:
        return sum(int(counts["outbox"]["sent"]) for counts in self.bus.values())

    @property
    def consumed(self) -> int:
        return sum(int(counts["inbox"]) for counts in self.bus.values())

    @property
    def dead_lettered(self) -> int:
        return sum(c["dead_letters"] for c in self.bus.values() if isinstance(c["dead_letters"], int))

    @property
    def audited(self) -> int:
        return int(self.audit.get("entries") or self.audit.get("entries_checked") or 0)

    def units_per_state(self) -> Counter[str]:
        """How many units ended in each state of their collective dossier (the late one stays a draft)."""
        return Counter(d.state for d in self.dossiers if d.kind == "collective")


def simulate(
    target: Target,
    campaign: Campaign,
    *,
    seed: int = 2021,
    progress: Callable[[str], None] | None = None,
    workers: int = 8,
) -> Report:
    """Play ``campaign`` on ``target`` as planned by ``seed``; raise SimulationError or NeverArrived if it fails."""
    run = _Run(target, campaign, plan_campaign(campaign, seed), progress or (lambda _: None), workers)
    return run.play()


@dataclass
class _Dossiers:
    collective: str
    individual: str | None


@dataclass
class _Run:
    target: Target
    campaign: Campaign
    plan: Plan
    say: Callable[[str], None]
    workers: int
    client: Client = field(init=False)
    dossiers: dict[str, _Dossiers] = field(default_factory=dict)
    overridden: list[str] = field(default_factory=list)
    returned: list[str] = field(default_factory=list)
    requests: int = 0
    conflicts: int = 0  # requests tried again after 409 concurrent_update
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _tokens: dict[tuple[str, str | None, str], str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.client = Client(self.target.urls)
        self.units = {u.unit: u for u in self.plan.units}
        self.code = self.campaign.code

    # -- the campaign, phase by phase ------------------------------------------------------------------------

    def play(self) -> Report:
        started = time.monotonic()
        self._check_campaign()
        self._day(PREPARE, 8)
        self._each("prepare dossiers", self.plan.units, self._prepare)
        self._import_figures()
        submitted = 0
        for day in range(PREPARE, REVIEW_WAVE + 1):
            self._day(day, 9)
            submitted += self._submit_day(day)
        self._day(REVIEW_WAVE, 14)
        self._review_wave(submitted)
        self._day(REVIEW_WAVE + 1, 9)
        resubmitted = self._revise_returned()
        later = self._submit_day(REVIEW_WAVE + 1)
        self._day(REVIEW_WAVE + 2, 9)
        later += self._submit_day(REVIEW_WAVE + 2)
        self._day(REVIEW_WAVE + 2, 16)
        self._review_wave(resubmitted + later)
        self._day(LATE, 9)
        late = self._late_submission()
        self._day(PROPOSAL, 9)
        proposal_id = self._send_proposal()
        self._day(APPRAISAL, 9)
        self._appraise(proposal_id)
        self._day(COUNCIL, 8)
        self._council()
        decision_number, decided = self._decide()
        awards = self._read_awards()
        dossiers = self._outcomes(decided)
        bus, audit = self._settled_counts()
        return Report(
            campaign=self.code,
            seed=self.plan.seed,
            awards=awards["rows"],
            total=awards["total"],
            total_words=awards["total_words"],
            dossiers=dossiers,
            late=late,
            figures={unit: counts.as_dict() for unit, counts in self.plan.official_figures().items()},
            returned=tuple(sorted(self.returned)),
            overridden=tuple(sorted(self.overridden)),
            decision_number=decision_number,
            bus=bus,
            audit=audit,
            seconds=time.monotonic() - started,
            requests=self.requests,
            conflicts=self.conflicts,
        )

    def _check_campaign(self) -> None:
        try:
            self._get(f"/intake/campaigns/{self.code}", self._person("reviewer", REVIEW_UNIT))
        except ApiError as err:
            if err.status == 404:
                raise SimulationError(
                    f"the system has no campaign {self.code!r}: put its file in THIDUA_CAMPAIGNS_DIR and restart it"
                ) from None
            raise

    def _day(self, day: int, hour: int) -> None:
        instant = datetime.combine(date(self.campaign.year, 12, day), time_of_day(hour), tzinfo=LOCAL_TZ)
        self.target.clock(instant)
        self.say(f"— {day:02d}/12/{self.campaign.year} {hour:02d}:00")

    # -- the clerks ------------------------------------------------------------------------------------------

    def _prepare(self, unit: UnitPlan) -> None:
        clerk = self._clerk(unit.unit)
        name = self.campaign.unit(unit.unit).name
        collective = self._post(
            "/intake/dossiers",
            clerk,
            {
                "campaign": self.code,
                "kind": "collective",
                "report": _report(name, unit),
                "self_assessment": unit.declared.as_dict(),
            },
        )["id"]
        self._upload_all(collective, unit.unit, clerk)
        individual = None
        if unit.individual:
            individual = self._post(
                "/intake/dossiers",
                clerk,
                {
                    "campaign": self.code,
                    "kind": "individual",
                    "report": {"achievements": f"Dẫn đầu {name} về hồ sơ trực tuyến", "measures": "Hướng dẫn tận tình"},
                    "nominee": _nominee(unit.unit, name),
                },
            )["id"]
            self._upload_all(individual, unit.unit, clerk)
        with self._lock:
            self.dossiers[unit.unit] = _Dossiers(collective, individual)

    def _upload_all(self, dossier_id: str, unit: str, clerk: str) -> None:
        """Every document the dossier needs in one request, as a clerk picking them all at once."""
        files = document_files(unit, self.campaign)
        self._call("POST", f"/intake/dossiers/{dossier_id}/documents", clerk, files=files)

    def _upload(self, dossier_id: str, unit: str, kind: str, clerk: str, version: int = 1) -> None:
        data, filename = document(unit, kind, version)
        self._call("PUT", f"/intake/dossiers/{dossier_id}/documents/{kind}", clerk, files={"file": (filename, data)})

    def _submit_day(self, day: int) -> int:
        """Every unit planned for ``day`` submits its dossiers; the number of dossiers submitted."""
        units = [u for u in self.plan.on_time if u.submit_day == day]
        self._each(f"submit on {day:02d}/12", units, self._submit)
        return sum(1 + (self.dossiers[u.unit].individual is not None) for u in units)

    def _submit(self, unit: UnitPlan) -> None:
        clerk = self._clerk(unit.unit)
        for dossier_id in self._ids(unit.unit):
            answer = self._post(f"/intake/dossiers/{dossier_id}/submit", clerk)
            if answer["state"] != "submitted":
                raise SimulationError(f"{unit.unit}: submitting {dossier_id} left it {answer['state']}")

    def _revise_returned(self) -> int:
        """Returned units correct what they were told to and submit again, before the deadline."""
        returned = [self.units[unit] for unit in self.returned]
        self._wait(
            lambda: self._total("/intake/dossiers", "returned") >= len(returned) or None,
            f"intake to show {len(returned)} returned dossiers",
        )
        self._each("revise and resubmit", returned, self._revise)
        return len(returned)

    def _revise(self, unit: UnitPlan) -> None:
        clerk = self._clerk(unit.unit)
        dossier_id = self.dossiers[unit.unit].collective
        if unit.declared != unit.official:
            self._call(
                "PATCH", f"/intake/dossiers/{dossier_id}", clerk, json_body={"self_assessment": unit.official.as_dict()}
            )
        if unit.document_return:
            self._upload(dossier_id, unit.unit, "bien_ban", clerk, version=2)
        answer = self._post(f"/intake/dossiers/{dossier_id}/submit", clerk)
        if answer["state"] != "submitted":
            raise SimulationError(f"{unit.unit}: resubmitting left the dossier {answer['state']}")

    def _late_submission(self) -> Refusal:
        late = self.plan.late
        dossier_id = self.dossiers[late.unit].collective
        try:
            self._post(f"/intake/dossiers/{dossier_id}/submit", self._clerk(late.unit))
        except ApiError as err:
            self.say(f"late submission of {late.unit} refused: {err.status} {err.code}")
            return Refusal(late.unit, err.status, err.code)
        raise SimulationError(f"{late.unit} submitted after the deadline and the system accepted it")

    # -- Culture & Information ------------------------------------------------------------------------------

    def _import_figures(self) -> None:
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(["unit", *COUNT_FIELDS])
        for unit, counts in self.plan.official_figures().items():
            writer.writerow([unit, *counts.as_dict().values()])
        reviewer = self._reviewer(None, 0)
        files = {"file": ("so-lieu-mot-cua.csv", text.getvalue().encode())}
        answer, _ = self._call("PUT", f"/review/campaigns/{self.code}/figures", reviewer, files=files)
        self.say(f"official figures imported: {answer['units']} units")

    def _review_wave(self, expected: int) -> None:
        """Wait until review holds the ``expected`` new nominations, then work every one of them."""
        self._wait(
            lambda: self._total("/review/nominations", "in_review") >= expected or None,
            f"review to hold {expected} nominations in review",
        )
        reviewer = self._reviewer(None, 0)
        waiting = [
            n["id"] for n in self.client.pages("/review/nominations", reviewer, campaign=self.code, state="in_review")
        ]
        self._each("review", waiting, self._review)

    def _review(self, nomination_id: str) -> None:
        first = self._reviewer(None, 0)
        nomination = self._get(f"/review/nominations/{nomination_id}", first)
        unit = self.units[nomination["unit"]]
        first, second = self._reviewer(unit.unit, 0), self._reviewer(unit.unit, 1)
        path = f"/review/nominations/{nomination_id}"
        figures = {f["field"]: f for f in nomination.get("figures") or []}
        declared = {name: f["declared"] for name, f in figures.items()}
        official = {name: f["official"] for name, f in figures.items()}
        differs = any(f["differs"] for f in figures.values())
        if nomination["round"] == 1 and nomination["kind"] == "collective":
            reasons = []
            if differs and not differs_little(declared, official):
                reasons += [
                    {
                        "field": f"self_assessment.{name}",
                        "message": f"Số liệu tự chấm {f['declared']} khác số liệu chính thức {f['official']}.",
                    }
                    for name, f in figures.items()
                    if f["differs"]
                ]
            if unit.document_return:
                reasons.append(
                    {"field": "documents.bien_ban", "message": "Biên bản họp xét chưa có chữ ký của chủ tọa."}
                )
            if reasons:
                self._post(f"{path}/return", first, {"reasons": reasons})
                with self._lock:
                    self.returned.append(unit.unit)
                return
        for entry in nomination["steps"]:
            step = entry["step"]
            body: dict[str, Any] = {"decision": "approve", "note": "Đạt yêu cầu."}
            if step == "figures" and differs:
                body = {
                    "decision": "approve",
                    "note": "Chênh lệch nhỏ do nhập liệu; theo số liệu một cửa.",
                    "override": True,
                }
                with self._lock:
                    self.overridden.append(unit.unit)
            self._post(f"{path}/steps/{step}", second if step == "appraisal" else first, body)

    def _send_proposal(self) -> str:
        self._wait(
            lambda: self._total("/review/nominations", "in_review") == 0 or None,
            "review to have no nomination left in review",
        )
        head = self._person("review_head", REVIEW_UNIT, "Lê Văn G")
        proposal = self._post(
            f"/review/campaigns/{self.code}/proposal", head, {"note": "Kính trình Hội đồng xét duyệt."}
        )
        self.say(f"proposal signed and sent: {len(proposal['contents']['dossier_ids'])} candidates")
        return str(proposal["id"])

    # -- Home Affairs and the council ------------------------------------------------------------------------

    def _appraise(self, proposal_id: str) -> None:
        home_affairs = self._person("home_affairs", HOME_AFFAIRS_UNIT, "Trần Thị H")

        def received() -> bool | None:
            # The proposal alone, not the list: until it arrives that is a cheap 404, then one answer.
            try:
                proposal = self._get(f"/awards/proposals/{proposal_id}", home_affairs)
            except ApiError as err:
                if err.code == "proposal_not_found":
                    return None
                raise
            return proposal["state"] == "received" or None

        self._wait(received, f"awards to receive proposal {proposal_id}")
        body = {"decision": "pass", "reasons": [], "not_passed": []}
        self._post(f"/awards/proposals/{proposal_id}/appraisal", home_affairs, body)

    def _council(self) -> list[dict[str, Any]]:
        """The session with the whole roster present; every member votes on every candidate but their own unit's."""
        members = self.campaign.council.members
        chair, secretary = _officers(members)
        roles = {chair.id: "council_chair", secretary.id: "council_secretary"}
        present = [m.id for m in members]
        session = self._post(
            "/awards/sessions",
            self._member(secretary, "council_secretary"),
            {"campaign": self.code, "present": present},
        )
        candidates = session["candidates"]
        places = _tie_positions(candidates)
        votes = []
        for candidate in candidates:
            eligible = [m for m in members if not (m.unit and m.unit == candidate["unit"])]
            abstaining = len(eligible) - places.get(candidate["dossier_id"], 0)
            votes += [
                (m, candidate["dossier_id"], "approve" if n < abstaining else "abstain") for n, m in enumerate(eligible)
            ]

        def cast(vote: tuple[CouncilMember, str, str]) -> None:
            seat, dossier_id, choice = vote
            body = {"dossier_id": dossier_id, "choice": choice}
            self._post(f"/awards/sessions/{session['id']}/votes", self._member(seat, roles.get(seat.id)), body)

        self._each("council votes", votes, cast)
        closed = self._post(f"/awards/sessions/{session['id']}/close", self._member(chair, "council_chair"))
        self.say(f"session closed: {Counter(c['state'] for c in closed['candidates'])}")
        return list(closed["candidates"])

    def _decide(self) -> tuple[str, int]:
        """The chair's decision: its number, and how many dossiers it decided (candidates and those left out)."""
        chair = self._member(_officers(self.campaign.council.members)[0], "council_chair")
        number = f"{self.plan.seed % 10000}/QĐ-UBND"
        body = {"decision_number": number, "decision_date": date(self.campaign.year, 12, COUNCIL).isoformat()}
        made = self._post(f"/awards/campaigns/{self.code}/decision", chair, body)
        self.say(f"decision {number}: {made['granted']} granted, {made['refused']} refused")
        return number, made["granted"] + made["refused"]

    # -- reading the results ---------------------------------------------------------------------------------

    def _read_awards(self) -> dict[str, Any]:
        listed = self._get(f"/awards/campaigns/{self.code}/awards", self._person("auditor", None, "Trần Văn B"))
        rows = tuple(
            AwardRow(track["track"], a["unit"], kind, a["prize_name"], a["amount"], a["certificate_number"])
            for track in listed["tracks"]
            for kind, items in (("collective", track["collectives"]), ("individual", track["individuals"]))
            for a in items
        )
        return {"rows": rows, "total": listed["total"], "total_words": listed["total_words"]}

    def _outcomes(self, decided: int) -> tuple[DossierOutcome, ...]:
        """Wait until intake shows every dossier the decision decided its outcome, then read every dossier's state and
        outcome from intake's list."""
        self._wait(
            lambda: (
                self._total("/intake/dossiers", "awarded") + self._total("/intake/dossiers", "not_awarded") >= decided
                or None
            ),
            f"intake to show the outcome of the {decided} dossiers the decision decided",
        )
        auditor = self._person("auditor", None, "Trần Văn B")
        found = []
        for summary in self.client.pages("/intake/dossiers", auditor, campaign=self.code):
            outcome = summary["outcome"] or {}
            found.append(
                DossierOutcome(
                    summary["id"],
                    summary["unit"],
                    summary["kind"],
                    summary["state"],
                    outcome.get("prize_name"),
                    outcome.get("amount") or 0,
                    outcome.get("reason"),
                )
            )
        return tuple(found)

    def _settled_counts(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The bus counts once every outbox is sent and audit has logged every event the others committed."""
        auditor = self._person("auditor", None, "Trần Văn B")

        def settled() -> dict[str, Any] | None:
            bus = {service: self._get(f"/{service}/bus", auditor) for service in SERVICES}
            pending = sum(c["outbox"]["pending"] for c in bus.values())
            committed = sum(c["outbox"]["committed"] for c in bus.values())
            return bus if pending == 0 and bus["audit"]["inbox"] >= committed else None

        bus = self._wait(settled, "every outbox sent and every event in the audit log")
        return bus, self._get("/audit/verify", auditor)

    # -- people, requests and waiting -----------------------------------------------------------------------

    def _person(self, role: str, unit: str | None, name: str | None = None, person: str | None = None) -> str:
        key = (role, unit, person or name or role)
        with self._lock:
            token = self._tokens.get(key)
        if token is None:
            principal = Principal(
                person or f"{role}:{unit or 'huyen'}:{name or role}", name or role, frozenset({role}), unit
            )
            token = self.target.tokens.issue(principal, TOKEN_HOURS)
            with self._lock:
                self._tokens[key] = token
        return token

    def _clerk(self, unit: str) -> str:
        return self._person("unit_clerk", unit, f"Văn thư {self.campaign.unit(unit).name}")

    def _reviewer(self, dossier_unit: str | None, which: int) -> str:
        """Two reviewers of Culture & Information (four eyes), or of Home Affairs for Culture & Information's own."""
        own = dossier_unit == REVIEW_UNIT
        unit = HOME_AFFAIRS_UNIT if own else REVIEW_UNIT
        names = ("Nguyễn Thị K", "Trần Văn L") if own else ("Phạm Thị D", "Võ Minh E")
        return self._person("reviewer", unit, names[which])

    def _member(self, seat: CouncilMember, role: str | None = None) -> str:
        """A council member's token: the roster id as person id, the role of the seat."""
        return self._person(role or "council_member", seat.unit, seat.name, seat.id)

    def _ids(self, unit: str) -> list[str]:
        made = self.dossiers[unit]
        return [made.collective] + ([made.individual] if made.individual else [])

    def _call(self, method: str, path: str, token: str, **kwargs: Any) -> tuple[Any, Mapping[str, str]]:
        """Send a request; refused with ``concurrent_update``, do what a person would: reload and try again.

        That answer is by design (two writers of one council session or nomination, the loser told to retry) and
        the route reloads what it acts on, so sending the same request again is the retry. Bounded, with a random
        pause that doubles (at most two seconds) so the racing writers part; any other error, or the last refusal, is
        raised.
        """
        attempt = 1
        while True:
            with self._lock:
                self.requests += 1
            try:
                return self.client.call(method, path, token, **kwargs)
            except ApiError as err:
                if err.code != "concurrent_update" or attempt >= CONFLICT_ATTEMPTS:
                    raise
            with self._lock:
                self.conflicts += 1
            time.sleep(random.uniform(0, min(CONFLICT_PAUSE_SECONDS * 2**attempt, CONFLICT_PAUSE_MAX_SECONDS)))
            attempt += 1

    def _get(self, path: str, token: str, **query: Any) -> Any:
        return self._call("GET", path, token, query=query or None)[0]

    def _post(self, path: str, token: str, body: Any = None) -> Any:
        return self._call("POST", path, token, json_body=body if body is not None else {})[0]

    def _total(self, path: str, state: str) -> int:
        with self._lock:
            self.requests += 1
        return self.client.total(path, self._person("auditor", None, "Trần Văn B"), campaign=self.code, state=state)

    def _wait(self, probe: Callable[[], T | None], what: str) -> T:
        return wait_for(probe, what, timeout=self.target.timeout)

    def _each(self, phase: str, items: Iterable[T], action: Callable[[T], None]) -> None:
        """Run ``action`` on every item with the thread pool, saying how far it got; the first error stops it."""
        todo = list(items)
        started, done, said = time.monotonic(), 0, time.monotonic()
        with ThreadPoolExecutor(self.workers, thread_name_prefix="simulator") as pool:
            pending: set[Future[None]] = {pool.submit(action, item) for item in todo}
            while pending:
                finished, pending = wait(pending, timeout=2.0, return_when=FIRST_EXCEPTION)
                for future in finished:
                    if future.exception() is not None:
                        for other in pending:
                            other.cancel()
                        raise future.exception()  # type: ignore[misc]
                done += len(finished)
                if time.monotonic() - said >= 2.0 or not pending:
                    said = time.monotonic()
                    rate = done / max(said - started, 1e-6)
                    self.say(f"{phase}: {done}/{len(todo)} ({rate:.0f}/s)")


def _tie_positions(candidates: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Each tied collective's place in its tie group, in the order of the units' codes (0: first).

    The council settles a tie review flagged by its yes votes: the first of a group gets every eligible yes, the
    next one fewer (one member abstains), and so on, so the tie goes to the first code, the same for every run.
    """
    groups: dict[frozenset[str], list[Mapping[str, Any]]] = {}
    for candidate in candidates:
        if candidate["kind"] == "collective" and candidate.get("tie"):
            groups.setdefault(frozenset([candidate["unit"], *candidate["tie"]]), []).append(candidate)
    return {
        candidate["dossier_id"]: position
        for group in groups.values()
        for position, candidate in enumerate(sorted(group, key=lambda c: c["unit"]))
    }


def _officers(members: Sequence[CouncilMember]) -> tuple[CouncilMember, CouncilMember]:
    """The chair (the roster's first seat) and the secretary (its third: the standing vice-chair in 2021)."""
    return members[0], members[min(2, len(members) - 1)]


def _report(name: str, unit: UnitPlan) -> dict[str, Any]:
    rate = 100 * unit.declared.online_case_files // max(unit.declared.total_case_files, 1)
    return {
        "address": f"Trụ sở {name}",
        "phone": "0277 3840 123",
        "staff_count": 12 + len(name) % 20,
        "structure": "Trưởng phòng, Phó Trưởng phòng, công chức chuyên môn",
        "functions": f"Quản lý nhà nước của {name}",
        "achievements": f"{rate} % hồ sơ xử lý trực tuyến mức 4",
        "measures": "Hướng dẫn người dân nộp hồ sơ trực tuyến tại bộ phận một cửa",
    }


def _nominee(unit: str, name: str) -> dict[str, Any]:
    return {
        "full_name": f"Nguyễn Thị {name.split()[-1]}",
        "date_of_birth": "1988-04-12",
        "home_town": "Châu Thành, Đồng Tháp",
        "residence": name,
        "position": "Công chức Văn phòng - Thống kê",
    }
