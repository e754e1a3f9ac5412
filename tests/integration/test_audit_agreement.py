"""After a whole campaign, the audit log and every service's own records tell the same story.

Every event any service committed to its outbox is in the log exactly once, and every transition a service
recorded in its own history is there under the same event, subject, trigger and states; the chain verifies.
"""

from __future__ import annotations

import sqlalchemy as sa

from tests.agreement import assert_audit_agrees, audit_entries, outbox_events
from tests.integration.harness import Harness
from tests.integration.test_awards_api import (
    FIVE,
    appraise,
    close,
    decision,
    home_affairs,
    ok,
    open_session,
    session,
    through_review,
    votes,
)
from tests.waiting import wait_until

SERVICES = ("intake", "review", "awards")


def test_after_a_whole_campaign_the_audit_log_agrees_with_every_services_history(intake: Harness) -> None:
    h = intake
    through_review(h)
    [submitted] = h.wait_for_event("proposal.submitted")
    proposal_id = submitted["payload"]["proposal_id"]
    wait_until(lambda: h.client.get(f"/awards/proposals/{proposal_id}", headers=home_affairs(h)).status_code == 200)
    ok(appraise(h, proposal_id, "pass"))
    sid = ok(open_session(h), 201)["id"]
    candidates = session(h, sid)["candidates"]
    for candidate in candidates:
        votes(h, sid, candidate["dossier_id"], yes=len(FIVE) - 1)
    ok(close(h, sid))
    ok(decision(h), 201)
    for candidate in candidates:  # the last work of the campaign: intake recording every outcome
        wait_until(
            lambda d=candidate["dossier_id"]: (
                h.get(d, role="reviewer", unit="van-hoa-thong-tin")["state"] in {"awarded", "not_awarded"}
            ),
            what="intake to record every outcome",
        )
    audit = h.system.runtimes["audit"]
    settled = _Settled(h, audit.engine)
    wait_until(settled, timeout=30, interval=0.3, what="every event committed, sent and audited, and no more")
    expected = {event_id for events in settled.committed.values() for event_id in events}

    entries = audit_entries(audit.engine)
    assert len(entries) == len(set(entries)), "each event recorded once"
    checked = assert_audit_agrees({name: h.system.runtimes[name].engine for name in SERVICES}, audit.engine)
    assert checked == len(expected)
    verdict = ok(h.client.get("/audit/verify", headers=h.headers("auditor", None, "Kiểm toán viên")))
    assert verdict["status"] == "intact" and verdict["entries"] >= len(expected)


class _Settled:
    """True once the outboxes did not change between two polls and every event in them is in the audit log."""

    def __init__(self, h: Harness, audit: sa.Engine):
        self.h, self.audit = h, audit
        self.committed: dict[str, dict[str, tuple[str, str]]] = {}

    def __call__(self) -> bool:
        runtimes = self.h.system.runtimes
        previous, self.committed = self.committed, {name: outbox_events(runtimes[name].engine) for name in SERVICES}
        ids = {event_id for events in self.committed.values() for event_id in events}
        return self.committed == previous and ids <= set(audit_entries(self.audit))
