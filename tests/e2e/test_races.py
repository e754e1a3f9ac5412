"""Races across separate API processes: two people doing conflicting things at the same moment.

Each race sends its two requests from two threads released by one barrier, to two different API processes of
the same service (no proxy in between). To make every repetition a real race rather than a lucky one, the test
holds the contested row locked as a third writer would (``Cluster.row_held``): both requests read the same
version of it and wait at their update; when the lock goes, one update wins and the other meets the version
check. Exactly one wins, the loser gets a 409 problem with a stable code and a Vietnamese detail, and the
final state and the events on the wire show the one winner.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.e2e.cluster import Cluster, request
from tests.waiting import wait_until

pytestmark = [pytest.mark.rabbitmq, pytest.mark.postgres, pytest.mark.timeout(600)]

CAMPAIGN = "chau-thanh-2021"
DOCUMENT = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + b" " * 200
REPORT = {
    "address": "Trụ sở UBND xã",
    "phone": "0277 3840 123",
    "structure": "Chủ tịch, 2 Phó Chủ tịch, 12 công chức",
    "staff_count": 23,
    "functions": "Quản lý nhà nước trên địa bàn",
    "achievements": "72 % hồ sơ xử lý trực tuyến mức 4",
    "measures": "Hướng dẫn người dân tại bộ phận một cửa",
}
COMMUNES = (
    "hoa-tan",
    "an-khanh",
    "cai-tau-ha",
    "an-nhon",
    "an-phu-thuan",
    "phu-huu",
    "tan-binh",
    "tan-phu-trung",
    "tan-nhuan-dong",
    "tan-phu",
    "phu-long",
    "an-hiep",
)
DISTRICT_OFFICES = {"kinh-te-ha-tang": 15, "nong-nghiep-ptnt": 2}  # with their level-4 procedures
CONFLICT = "Hồ sơ vừa được người khác thay đổi; vui lòng tải lại rồi thử lại."
REVIEWERS = ("Phạm Thị D", "Võ Minh E")
PRESENT = (
    "chu-tich-ubnd",
    "pho-chu-tich-ubnd",
    "truong-phong-noi-vu",
    "truong-phong-vhtt",
    "truong-phong-tckh",
    "truong-phong-tu-phap",
    "chanh-van-phong",
)


@pytest.fixture(scope="module")
def cluster(module_clusters: Callable[..., Cluster]) -> Iterator[Cluster]:
    """One cluster for the module, with a second API process of each contested service and a tap on the wire."""
    cluster = module_clusters()
    for service in ("intake", "review", "awards"):
        cluster.launch(f"{service}-api-2", service, api=True)
    cluster.tap()
    figures = "unit,online_case_files,total_case_files,online_procedures,total_procedures\n" + "".join(
        ",".join([unit, *(str(n) for n in counts(unit).values())]) + "\n" for unit in (*COMMUNES, *DISTRICT_OFFICES)
    )
    status, body = request(
        "PUT",
        f"{cluster.url('review')}/review/campaigns/{CAMPAIGN}/figures",
        reviewer(cluster, 0),
        file=("figures.csv", figures.encode()),
    )
    assert status == 200, body
    yield cluster


def counts(unit: str) -> dict[str, int]:
    """The unit's Phụ lục 2 counts, declared and official alike; no two units tie."""
    procedures = DISTRICT_OFFICES.get(unit, 50)
    order = [*COMMUNES, *DISTRICT_OFFICES].index(unit)
    return {
        "online_case_files": 700 + order,
        "total_case_files": 1000,
        "online_procedures": procedures,
        "total_procedures": procedures,
    }


# -- the people ------------------------------------------------------------------------------------------------


def clerk(cluster: Cluster, unit: str) -> str:
    return cluster.token("unit_clerk", f"Văn thư {unit}", unit=unit, person=f"clerk-{unit}")


def reviewer(cluster: Cluster, which: int) -> str:
    return cluster.token("reviewer", REVIEWERS[which], unit="van-hoa-thong-tin", person=f"reviewer-{which}")


def member(cluster: Cluster, person: str, role: str = "council_member") -> str:
    return cluster.token(role, person, person=person)


def api(cluster: Cluster, service: str, second: bool = False) -> str:
    """The base URL of ``service``'s first or second API process."""
    return cluster.processes[f"{service}-api-2" if second else f"{service}-api"].url + f"/{service}"


def ok(answer: tuple[int, Any], status: int = 200) -> Any:
    assert answer[0] == status, answer
    return answer[1]


def complete_dossier(cluster: Cluster, unit: str) -> str:
    """A collective draft of ``unit`` with its report, counts and four documents: ready to submit."""
    token, base = clerk(cluster, unit), api(cluster, "intake")
    body = {"campaign": CAMPAIGN, "kind": "collective", "report": REPORT, "self_assessment": counts(unit)}
    dossier_id: str = ok(request("POST", f"{base}/dossiers", token, body), 201)["id"]
    for kind in ("to_trinh", "bien_ban", "bao_cao_thanh_tich", "danh_sach_tom_tat"):
        ok(request("PUT", f"{base}/dossiers/{dossier_id}/documents/{kind}", token, file=(f"{kind}.pdf", DOCUMENT)), 201)
    return dossier_id


def in_review(cluster: Cluster, unit: str) -> str:
    """A submitted dossier of ``unit``, once review holds its nomination."""
    dossier_id = complete_dossier(cluster, unit)
    ok(request("POST", f"{api(cluster, 'intake')}/dossiers/{dossier_id}/submit", clerk(cluster, unit)))
    wait_until(
        lambda: request("GET", f"{api(cluster, 'review')}/nominations/{dossier_id}", reviewer(cluster, 0))[0] == 200,
        timeout=30,
        what=f"review to receive {unit}'s dossier",
    )
    return dossier_id


Call = tuple[str, str, str, Any]  # method, URL, token, JSON body


def raced(cluster: Cluster, service: str, table: str, row_id: str, *calls: Call) -> list[tuple[int, Any]]:
    """The requests sent at once, released by a barrier, while the contested row is held until all wait on it."""
    barrier = threading.Barrier(len(calls), timeout=30)
    answers: list[tuple[int, Any] | None] = [None] * len(calls)

    def send(i: int) -> None:
        barrier.wait()
        answers[i] = request(*calls[i])

    with cluster.row_held(service, table, row_id) as waiting:
        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(calls))]
        for thread in threads:
            thread.start()
        waiting(len(calls))
    for thread in threads:
        thread.join(timeout=60)
    assert all(answer is not None for answer in answers), f"a request never answered: {answers}"
    return [answer for answer in answers if answer is not None]


def one_winner(answers: list[tuple[int, Any]]) -> tuple[int, Any]:
    """Exactly one 2xx; the other a 409 problem with a stable code and the Vietnamese detail. The winner's index."""
    winners = [i for i, (status, _) in enumerate(answers) if status < 300]
    assert len(winners) == 1, answers
    [loser] = [body for status, body in answers if status >= 300]
    assert (loser["status"], loser["code"], loser["detail"]) == (409, "concurrent_update", CONFLICT), loser
    return winners[0], answers[winners[0]][1]


def events(cluster: Cluster, subject: str, *types: str) -> list[dict[str, Any]]:
    return [e for e in cluster.tapped(f"{cluster.namespace}.tap") if e["subject"] == subject and e["type"] in types]


# -- the races -------------------------------------------------------------------------------------------------


def test_two_submits_of_the_same_dossier_at_once_one_submits_the_other_is_told_why(cluster: Cluster) -> None:
    """The clerk double-clicks, or two clerks of the unit submit: one dossier.submitted, one submission."""
    for repetition, unit in enumerate(COMMUNES[:6]):
        dossier_id = complete_dossier(cluster, unit)
        token, url = clerk(cluster, unit), f"dossiers/{dossier_id}/submit"
        answers = raced(
            cluster,
            "intake",
            "dossiers",
            dossier_id,
            ("POST", f"{api(cluster, 'intake')}/{url}", token, None),
            ("POST", f"{api(cluster, 'intake', second=True)}/{url}", token, None),
        )
        _, winner = one_winner(answers)
        assert winner["state"] == "submitted", repetition
        view = ok(request("GET", f"{api(cluster, 'intake')}/dossiers/{dossier_id}", token))
        assert view["state"] == "submitted"
        assert [h["trigger"] for h in view["history"]].count("submit") == 1, view["history"]
        wait_until(
            lambda d=dossier_id: events(cluster, d, "dossier.submitted"), timeout=30, what="the submission on the wire"
        )
        wait_until(lambda: cluster.queue_depths()["review"] == 0, timeout=30, what="review to take it")
        assert len(events(cluster, dossier_id, "dossier.submitted")) == 1, "one submission went over the wire"


def test_approving_and_returning_the_same_nomination_at_once_one_decision_stands(cluster: Cluster) -> None:
    """One reviewer approves the completeness step while another returns the dossier: one of the two stands."""
    outcomes = []
    for repetition, unit in enumerate(COMMUNES[6:12]):
        dossier_id = in_review(cluster, unit)
        review = f"nominations/{dossier_id}"
        approve = {"decision": "approve", "note": "Đủ bốn tài liệu.", "override": False}
        give_back = {"reasons": [{"field": "report.phone", "message": "Số điện thoại chưa đúng."}]}
        first, second = repetition % 2 == 1, repetition % 2 == 0  # each action from each process in turn
        answers = raced(
            cluster,
            "review",
            "nominations",
            dossier_id,
            ("POST", f"{api(cluster, 'review', first)}/{review}/steps/completeness", reviewer(cluster, 0), approve),
            ("POST", f"{api(cluster, 'review', second)}/{review}/return", reviewer(cluster, 1), give_back),
        )
        index, _ = one_winner(answers)
        outcomes.append(index)
        view = ok(request("GET", f"{api(cluster, 'review')}/{review}", reviewer(cluster, 0)))
        expected_type = ("nomination.step_approved", "dossier.returned")[index]
        if index == 0:
            assert (view["state"], view["next_step"]) == ("in_review", "figures"), view
        else:
            assert view["state"] == "returned", view
        wait_until(
            lambda d=dossier_id, t=expected_type: events(cluster, d, t), timeout=30, what=f"{expected_type} on the wire"
        )
        wire = events(cluster, dossier_id, "nomination.step_approved", "dossier.returned")
        assert [e["type"] for e in wire] == [expected_type], "the loser's decision never went over the wire"
        if index == 1:  # intake shows the unit the return
            wait_until(
                lambda d=dossier_id, u=unit: (
                    request("GET", f"{api(cluster, 'intake')}/dossiers/{d}", clerk(cluster, u))[1]["state"]
                    == "returned"
                ),
                timeout=30,
                what="intake to record the return",
            )
    assert outcomes, "no race ran"


def test_a_members_two_different_votes_at_once_one_choice_is_counted_and_the_other_refused(
    cluster: Cluster,
) -> None:
    """A council member's two different votes on one nomination at the same moment (from a phone and a laptop,
    each reaching its own API process): "exactly one wins" means one choice is recorded and goes over the wire
    as vote.cast, the other request gets a 409 asking to reload and vote again, and no trace of the losing
    choice is left. A vote may change until the session closes, so voting again afterwards replaces the
    winner's choice, as any later change of mind does.
    """
    for unit in ("kinh-te-ha-tang", "nong-nghiep-ptnt"):
        in_review(cluster, unit)
    _finish_review(cluster)
    head = cluster.token("review_head", "Lê Văn G", unit="van-hoa-thong-tin", person="review-head")
    ok(request("POST", f"{api(cluster, 'review')}/campaigns/{CAMPAIGN}/proposal", head, {"note": "Kính trình"}), 201)
    home_affairs = cluster.token("home_affairs", "Trần Thị H", unit="noi-vu", person="home-affairs")
    proposals = wait_until(
        lambda: ok(request("GET", f"{api(cluster, 'awards')}/proposals", home_affairs)),
        timeout=30,
        what="awards to receive the proposal",
    )
    appraisal = {"decision": "pass"}
    ok(request("POST", f"{api(cluster, 'awards')}/proposals/{proposals[0]['id']}/appraisal", home_affairs, appraisal))
    secretary = member(cluster, "truong-phong-noi-vu", "council_secretary")
    opened = {"campaign": CAMPAIGN, "present": list(PRESENT)}
    session_id = ok(request("POST", f"{api(cluster, 'awards')}/sessions", secretary, opened), 201)["id"]
    session = ok(request("GET", f"{api(cluster, 'awards')}/sessions/{session_id}", secretary))
    candidates = [c["dossier_id"] for c in session["candidates"]]
    assert len(candidates) >= 3, session

    votes = f"sessions/{session_id}/votes"
    for repetition, dossier_id in enumerate(candidates[:6]):
        seat = ("chu-tich-ubnd", "pho-chu-tich-ubnd", "chanh-van-phong")[repetition % 3]
        token = member(cluster, seat)
        answers = raced(
            cluster,
            "awards",
            "sessions",
            session_id,
            ("POST", f"{api(cluster, 'awards')}/{votes}", token, {"dossier_id": dossier_id, "choice": "approve"}),
            ("POST", f"{api(cluster, 'awards', True)}/{votes}", token, {"dossier_id": dossier_id, "choice": "reject"}),
        )
        index, _ = one_winner(answers)
        choice = ("approve", "reject")[index]
        assert _votes_on(cluster, secretary, session_id, dossier_id) == {seat: choice}
        wait_until(lambda d=dossier_id: events(cluster, d, "vote.cast"), timeout=30, what="the vote on the wire")
        cast = [(e["payload"]["member_id"], e["payload"]["choice"]) for e in events(cluster, dossier_id, "vote.cast")]
        assert cast == [(seat, choice)], "the losing choice never went over the wire"

        ok(request("POST", f"{api(cluster, 'awards')}/{votes}", token, {"dossier_id": dossier_id, "choice": "abstain"}))
        assert _votes_on(cluster, secretary, session_id, dossier_id) == {seat: "abstain"}
        wait_until(lambda d=dossier_id: len(events(cluster, d, "vote.cast")) == 2, timeout=30, what="the change")
        assert events(cluster, dossier_id, "vote.cast")[1]["payload"]["replaces"] == choice


def _votes_on(cluster: Cluster, token: str, session_id: str, dossier_id: str) -> dict[str, str]:
    session = ok(request("GET", f"{api(cluster, 'awards')}/sessions/{session_id}", token))
    [candidate] = [c for c in session["candidates"] if c["dossier_id"] == dossier_id]
    return {v["member"]: v["choice"] for v in candidate["votes"]}


def _finish_review(cluster: Cluster) -> None:
    """Take every nomination still in review through its remaining steps, so the proposal can be signed."""
    listed = ok(
        request("GET", f"{api(cluster, 'review')}/nominations?state=in_review&page_size=100", reviewer(cluster, 0))
    )
    for nomination in listed:
        base = f"{api(cluster, 'review')}/nominations/{nomination['id']}"
        while (step := ok(request("GET", base, reviewer(cluster, 0)))["next_step"]) is not None:
            who = reviewer(cluster, 1 if step == "appraisal" else 0)
            decision = {"decision": "approve", "note": "Đạt", "override": False}
            ok(request("POST", f"{base}/steps/{step}", who, decision))
