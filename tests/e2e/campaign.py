"""The 2021 campaign played by the simulator on a cluster, and what its end must look like.

``play`` runs the simulator against a cluster; ``settle`` waits until the system has finished its asynchronous
work and returns its ledger (what was committed, sent, delivered, handled and audited); ``final_state`` reads
what the campaign decided, in terms that do not depend on a run's random ids, so a run under faults can be
compared with the run without them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import sqlalchemy as sa

from services.bootstrap import SERVICE_NAMES, service_spec
from services.review.rules import Counts, Standing, Status, place_campaign
from services.simulator import ClockFile, Report, Target, simulate
from shared.campaigns import Campaign, load_campaigns
from tests.agreement import audit_entries, outbox_events
from tests.e2e.cluster import Cluster, request
from tests.waiting import wait_until

CAMPAIGN = "chau-thanh-2021"
SEED = 2021
FINAL_STATES = {"awarded", "not_awarded"}  # of a dossier the council considered


def campaign() -> Campaign:
    return load_campaigns()[CAMPAIGN]


def play(cluster: Cluster, progress: Callable[[str], None] | None = None, seed: int = SEED) -> Report:
    """The whole campaign through the cluster's routes, its days turned with the cluster's clock file; four
    people act at once (clerks submitting, members voting), as in an office."""
    target = Target(
        {service: cluster.url(service) for service in SERVICE_NAMES},
        cluster.tokens,
        ClockFile(cluster.clock_file),
        timeout=240,
    )
    return simulate(target, campaign(), seed=seed, progress=progress, workers=4)


# -- nothing lost ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ledger:
    """Where every event of a run is, read from the services' databases and the broker."""

    committed: Mapping[str, Mapping[str, tuple[str, str]]]  # per service: event id → (type, subject)
    unsent: int  # outbox rows not yet confirmed by the broker
    handled: Mapping[str, frozenset[str]]  # per service: the event ids in its inbox
    audited: frozenset[str]
    wire: frozenset[str]  # distinct event ids the test's tap received
    waiting: Mapping[str, int]  # messages still in each service's queue

    def due(self, service: str) -> set[str]:
        """The committed events ``service`` subscribes to: what its inbox must hold, once each."""
        keys = service_spec(service).subscription.routing_keys
        return {event_id for event_id, (type_, _) in self.all_events().items() if "#" in keys or type_ in keys}

    def all_events(self) -> dict[str, tuple[str, str]]:
        return {event_id: event for events in self.committed.values() for event_id, event in events.items()}


def ledger(cluster: Cluster, tap: str) -> Ledger:
    unsent = 0
    handled = {}
    for service in SERVICE_NAMES:
        with cluster.engine(service).connect() as conn:
            unsent += conn.execute(sa.text("SELECT count(*) FROM outbox WHERE published_at IS NULL")).scalar_one()
            handled[service] = frozenset(conn.execute(sa.text("SELECT event_id FROM inbox")).scalars())
    return Ledger(
        committed={service: outbox_events(cluster.engine(service)) for service in SERVICE_NAMES},
        unsent=unsent,
        handled=handled,
        audited=frozenset(audit_entries(cluster.engine("audit"))),
        wire=frozenset(e["message_id"] for e in cluster.tapped(tap)),
        waiting=cluster.queue_depths(),
    )


def settle(cluster: Cluster, tap: str, timeout: float = 180) -> Ledger:
    """Wait until every outbox is sent, every queue empty, and nothing changed between two looks."""
    seen: list[Ledger] = []

    def quiet() -> Ledger | None:
        seen.append(ledger(cluster, tap))
        now = seen[-1]
        calm = len(seen) > 1 and seen[-2] == now
        return now if calm and now.unsent == 0 and not any(now.waiting.values()) else None

    return wait_until(quiet, timeout=timeout, interval=1.0, what="the system to settle")


def assert_nothing_lost(books: Ledger) -> None:
    """Every committed event went over the wire, was handled once by each service subscribing to it, and was
    audited; nothing else was; nothing waits in a queue or an outbox."""
    events = set(books.all_events())
    assert books.unsent == 0, f"{books.unsent} outbox rows never sent"
    assert books.waiting == dict.fromkeys(SERVICE_NAMES, 0), f"messages left in the queues: {books.waiting}"
    assert books.wire == events, f"on the wire but not committed: {books.wire - events}; lost: {events - books.wire}"
    for service in SERVICE_NAMES:
        due = books.due(service)
        handled = books.handled[service]
        assert handled == due, f"{service}: handled, not committed {handled - due}; never handled {due - handled}"
    assert books.audited == events


# -- what the campaign decided ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FinalState:
    """A run's end in terms of units, not of the run's random ids: comparable between runs of one seed."""

    awards: frozenset[tuple[str, str, str, str, int]]  # track, unit, kind, prize, amount
    total: int
    outcomes: Mapping[tuple[str, str], tuple[str, str | None, int]]  # (unit, kind) → state, prize, amount
    proposed: frozenset[tuple[str, str]]  # (unit, kind) of the dossiers review proposed to the council
    histories: Mapping[str, tuple[str, ...]]  # per subject, named by unit and kind: audited types in order


def final_state(cluster: Cluster) -> FinalState:
    """The awards, each dossier as its unit's clerk sees it in intake, and what audit recorded per subject."""
    auditor = cluster.token("auditor", "Trần Văn B")
    status, awards = request("GET", f"{cluster.url('awards')}/awards/campaigns/{CAMPAIGN}/awards", auditor)
    assert status == 200, awards
    rows = frozenset(
        (track["track"], a["unit"], kind, a["prize_name"], a["amount"])
        for track in awards["tracks"]
        for kind in ("collective", "individual")
        for a in track[f"{kind}s"]
    )
    outcomes: dict[tuple[str, str], tuple[str, str | None, int]] = {}
    keys: dict[str, tuple[str, str]] = {}
    status, listed = request("GET", f"{cluster.url('intake')}/intake/dossiers?page_size=100", auditor)
    assert status == 200, listed
    for summary in listed:
        clerk = cluster.token("unit_clerk", f"Văn thư {summary['unit']}", unit=summary["unit"])
        status, dossier = request("GET", f"{cluster.url('intake')}/intake/dossiers/{summary['id']}", clerk)
        assert status == 200, dossier
        outcome = dossier.get("outcome") or {}
        key = (dossier["unit"], dossier["kind"])
        outcomes[key] = (dossier["state"], outcome.get("prize_name"), outcome.get("amount") or 0)
        keys[dossier["id"]] = key
    status, proposal = request("GET", f"{cluster.url('review')}/review/campaigns/{CAMPAIGN}/proposal", auditor)
    assert status == 200, proposal
    proposed = frozenset(keys[dossier_id] for dossier_id in proposal["contents"]["dossier_ids"])
    names = {dossier_id: "/".join(key) for dossier_id, key in keys.items()}
    return FinalState(rows, awards["total"], outcomes, proposed, _histories(cluster, names))


def _histories(cluster: Cluster, names: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """Each subject's audited event types in the order they occurred (ties by type: one transaction's events).

    A dossier is named by its unit and kind, the campaign by its code, any other subject (the proposal, the
    council's session) by the first event that made it, as its id differs between runs.
    """
    with cluster.engine("audit").connect() as conn:
        rows = conn.execute(sa.text("SELECT subject, type, occurred_at FROM entries ORDER BY occurred_at, type")).all()
    per_subject: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        per_subject[row.subject].append(row.type)
    return {
        names.get(subject, subject if subject == CAMPAIGN else types[0]): tuple(types)
        for subject, types in per_subject.items()
    }


def expected_awards(report: Report, campaign: Campaign) -> set[tuple[str, str, str, int]]:
    """The collective prizes the review rules give for the official figures the simulator imported.

    Every unit but the late one was appraised in the end (returned units corrected and resubmitted), so each
    stands on its official figures. A tie the rules leave to the council goes, as the simulator's council votes
    it, to the first unit code of the group.
    """
    standings = [
        Standing(unit, Status.APPRAISED, Counts(**figures))
        for unit, figures in report.figures.items()
        if unit != report.late.unit
    ]
    expected = set()
    for track, placings in place_campaign(standings, campaign).items():
        ladder = {prize.rank: prize for prize in campaign.track(track).prizes}
        contested: dict[tuple[int, ...], list[str]] = defaultdict(list)
        for placing in placings:
            if placing.prize is not None:
                expected.add((track, placing.unit, placing.prize.name, placing.prize.amount))
            elif placing.contested:
                contested[placing.contested].append(placing.unit)
        for ranks, units in contested.items():
            for rank, unit in zip(ranks, sorted(units), strict=False):
                expected.add((track, unit, ladder[rank].name, ladder[rank].amount))
    return expected
