"""Awards through its HTTP API, on both stacks, with the whole system running: a real campaign goes through intake
and review to Home Affairs, who returns it once and then passes it; the council meets and votes; the chair decides;
every unit hears its outcome in intake. Shorter tests start from a proposal put on the bus as review sends it.

Council members act with tokens whose person id is their roster id in ``chau-thanh-2021.toml``: the chair
"chu-tich-ubnd" (council_chair), the secretary "truong-phong-noi-vu" (council_secretary), the others council_member.
"""

from __future__ import annotations

import csv
import io
import json
import re
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import openpyxl
import sqlalchemy as sa
from kombu import Producer
from werkzeug.test import TestResponse

from shared.auth import Principal
from shared.campaigns import default_campaign
from shared.catalogue import CATALOGUE
from tests.integration.harness import Harness
from tests.waiting import wait_until

CAMPAIGN = "chau-thanh-2021"
COUNCIL = default_campaign().council
ROSTER = {m.id: m for m in COUNCIL.members}
CHAIR, SECRETARY = "chu-tich-ubnd", "truong-phong-noi-vu"
FIVE = ["chu-tich-ubnd", "pho-chu-tich-ubnd", "truong-phong-noi-vu", "truong-phong-vhtt", "chanh-van-phong"]
VHTT, NOI_VU = "van-hoa-thong-tin", "noi-vu"
PROPOSALS, SESSIONS = "/awards/proposals", "/awards/sessions"
DECISION, AWARDS = f"/awards/campaigns/{CAMPAIGN}/decision", f"/awards/campaigns/{CAMPAIGN}/awards"
REVIEW_PROPOSAL = f"/review/campaigns/{CAMPAIGN}/proposal"
VIETNAMESE = re.compile("[ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ]", re.IGNORECASE)
INDIVIDUAL_AWARD = "Giấy khen của Chủ tịch UBND Huyện"
# Official figures: the communes rank phu-huu (95 %), an-nhon (90 %), tan-phu (80 %), hoa-tan (60 %).
OFFICIAL = {"phu-huu": (950, 1000, 8, 10), "an-nhon": (900, 1000, 10, 10), "tan-phu": (800, 1000, 8, 10)}
OFFICIAL["hoa-tan"] = (600, 1000, 5, 10)


# -- answers and people ----------------------------------------------------------------------------------------


def problem(response: TestResponse, status: int, code: str) -> dict[str, Any]:
    assert (response.status_code, response.content_type) == (status, "application/problem+json"), response.text
    body: dict[str, Any] = response.get_json()
    assert body["code"] == code, body
    assert VIETNAMESE.search(body["detail"]), body["detail"]
    return body


def ok(response: TestResponse, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.get_json()


def member(h: Harness, person: str) -> dict[str, str]:
    """A council member's token: the roster id as person id, the role of their seat."""
    role = {CHAIR: "council_chair", SECRETARY: "council_secretary"}.get(person, "council_member")
    seat = ROSTER.get(person)
    principal = Principal(person, seat.name if seat else "Người ngoài", frozenset({role}), seat.unit if seat else None)
    return {"Authorization": f"Bearer {h.system.tokens.issue(principal)}"}


def home_affairs(h: Harness) -> dict[str, str]:
    return h.headers("home_affairs", NOI_VU, "Võ Thị H")


# -- awards' commands ------------------------------------------------------------------------------------------


def appraise(
    h: Harness, proposal_id: str, decision: str, reasons: Sequence[str] = (), not_passed: Sequence[dict] = ()
) -> TestResponse:
    body = {"decision": decision, "reasons": list(reasons), "not_passed": list(not_passed)}
    return h.client.post(f"{PROPOSALS}/{proposal_id}/appraisal", json=body, headers=home_affairs(h))


def open_session(h: Harness, present: Sequence[str] = FIVE, who: str = SECRETARY) -> TestResponse:
    return h.client.post(SESSIONS, json={"campaign": CAMPAIGN, "present": list(present)}, headers=member(h, who))


def vote(h: Harness, session_id: str, person: str, dossier_id: str, choice: str = "approve") -> TestResponse:
    body = {"dossier_id": dossier_id, "choice": choice}
    return h.client.post(f"{SESSIONS}/{session_id}/votes", json=body, headers=member(h, person))


def votes(h: Harness, session_id: str, dossier_id: str, yes: int, present: Sequence[str] = FIVE) -> None:
    """The first ``yes`` members present who may vote approve, the others reject."""
    unit = next(c["unit"] for c in session(h, session_id)["candidates"] if c["dossier_id"] == dossier_id)
    voters = [p for p in present if ROSTER[p].unit != unit]
    for number, person in enumerate(voters):
        ok(vote(h, session_id, person, dossier_id, "approve" if number < yes else "reject"))


def session(h: Harness, session_id: str) -> dict[str, Any]:
    return ok(h.client.get(f"{SESSIONS}/{session_id}", headers=member(h, SECRETARY)))


def close(h: Harness, session_id: str, who: str = SECRETARY) -> TestResponse:
    return h.client.post(f"{SESSIONS}/{session_id}/close", headers=member(h, who))


def decision(h: Harness, who: str = CHAIR, number: str = "1234/QĐ-UBND") -> TestResponse:
    body = {"decision_number": number, "decision_date": "2021-12-28"}
    return h.client.post(DECISION, json=body, headers=member(h, who))


def proposal(h: Harness, proposal_id: str, round_: int = 1, state: str = "received") -> dict[str, Any]:
    """Awards' view of the proposal, once it has ``round_`` in ``state``."""

    def probe() -> dict[str, Any] | None:
        found = [p for p in ok(h.client.get(PROPOSALS, headers=home_affairs(h))) if p["id"] == proposal_id]
        return found[0] if found and (found[0]["round"], found[0]["state"]) == (round_, state) else None

    return wait_until(probe, what=f"awards to hold proposal {proposal_id} round {round_} {state}")


def candidates(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {(c["unit"], c["kind"]): c for c in view["candidates"]}


# -- a real campaign through intake and review -----------------------------------------------------------------


def reviewer(h: Harness) -> dict[str, str]:
    return h.headers("reviewer", VHTT, "Phạm Thị D")


def import_figures(h: Harness, official: dict[str, tuple[int, int, int, int]]) -> None:
    rows = "".join(f"{unit},{a},{b},{c},{d}\n" for unit, (a, b, c, d) in official.items())
    csv_bytes = ("unit,online_case_files,total_case_files,online_procedures,total_procedures\n" + rows).encode()
    figures = h.client.put(
        f"/review/campaigns/{CAMPAIGN}/figures",
        data={"file": (io.BytesIO(csv_bytes), "f.csv")},
        headers=reviewer(h),
        content_type="multipart/form-data",
    )
    ok(figures)


def submitted(h: Harness, unit: str, kind: str = "collective") -> str:
    """A complete dossier of ``unit`` submitted by its clerk, once review holds it."""
    dossier_id: str = h.complete_dossier(kind, unit)["id"]
    assert ok(h.submit(dossier_id, unit=unit))["state"] == "submitted"
    wait_until(
        lambda: h.client.get(f"/review/nominations/{dossier_id}", headers=reviewer(h)).status_code == 200,
        what=f"review to hold {dossier_id}",
    )
    return dossier_id


def review_steps(h: Harness, dossier_id: str, reject_at: str | None = None, note: str = "Đạt yêu cầu.") -> None:
    """Every step approved (the appraisal by a second reviewer), or approved up to ``reject_at``, rejected there."""
    nomination = ok(h.client.get(f"/review/nominations/{dossier_id}", headers=reviewer(h)))
    for entry in nomination["steps"]:
        rejected = entry["step"] == reject_at
        body = {"decision": "reject" if rejected else "approve", "note": note, "override": True}
        who = h.headers("reviewer", NOI_VU, "Lê Văn E") if entry["step"] == "appraisal" else reviewer(h)
        ok(h.client.post(f"/review/nominations/{dossier_id}/steps/{entry['step']}", json=body, headers=who))
        if rejected:
            return


def through_review(h: Harness) -> dict[tuple[str, str], str]:
    """Clerks submit four commune collectives and two individuals; reviewers approve every step; the head of
    Culture & Information sends the proposal. The dossier ids by (unit, kind)."""
    import_figures(h, OFFICIAL)
    ids = {}
    for unit, kind in [*((u, "collective") for u in OFFICIAL), ("phu-huu", "individual"), ("tan-phu", "individual")]:
        ids[unit, kind] = submitted(h, unit, kind)
    for dossier_id in ids.values():
        review_steps(h, dossier_id)
    ok(h.client.post(REVIEW_PROPOSAL, json={"note": None}, headers=h.headers("review_head", VHTT)), 201)
    return ids


# == the whole path ============================================================================================


def test_proposal_session_decision_and_every_outcome_back_in_intake(intake: Harness) -> None:
    h = intake
    ids = through_review(h)
    [submitted] = h.wait_for_event("proposal.submitted")
    proposal_id = submitted["payload"]["proposal_id"]
    view = proposal(h, proposal_id)
    assert sorted(candidates(view)) == [
        ("an-nhon", "collective"),
        ("phu-huu", "collective"),
        ("phu-huu", "individual"),
        ("tan-phu", "collective"),
        ("tan-phu", "individual"),
    ], "hoa-tan, fourth, won no prize in review and is not proposed"
    assert {c["dossier_id"] for c in view["candidates"]} == set(ids.values()) - {ids["hoa-tan", "collective"]}
    fourth = (
        "Đơn vị đạt chỉ tiêu, xếp hạng 4 trong khối “UBND các xã, thị trấn”; khối chỉ có 3 giải, "
        "dành cho các đơn vị xếp trên."
    )
    shown = ok(h.client.get(f"{PROPOSALS}/{proposal_id}", headers=member(h, CHAIR)))
    assert [(c["dossier_id"], c["unit_name"], c["kind"], c["state"], c["reason"]) for c in shown["not_proposed"]] == [
        (ids["hoa-tan", "collective"], "Hòa Tân", "collective", "not_proposed", fourth)
    ], "Home Affairs and the council see who was left out, and why"
    problem(open_session(h), 409, "no_proposal_before_the_council")

    # Home Affairs returns it; review sees it returned; its head sends it again as round two.
    problem(appraise(h, proposal_id, "return"), 409, "reasons_required")
    reasons = ["Thiếu biên bản họp xét của Phòng Văn hóa và Thông tin."]
    assert ok(appraise(h, proposal_id, "return", reasons))["return_reasons"] == reasons
    back = wait_until(
        lambda: (
            (p := ok(h.client.get(REVIEW_PROPOSAL, headers=h.headers("review_head", VHTT))))["state"] == "returned"
            and p
        ),
        what="review to see its proposal returned",
    )
    assert back["return_reasons"] == reasons
    ok(h.client.post(REVIEW_PROPOSAL, json={"note": "Đã bổ sung."}, headers=h.headers("review_head", VHTT)), 201)
    view = proposal(h, proposal_id, round_=2)
    assert len(view["candidates"]) == 5 and {c["state"] for c in view["candidates"]} == {"proposed"}
    assert [c["dossier_id"] for c in view["not_proposed"]] == [ids["hoa-tan", "collective"]], "replaced, not added"

    # Passed, tan-phu's collective not passed.
    not_passed = [{"dossier_id": ids["tan-phu", "collective"], "reason": "Số liệu chưa được xác nhận."}]
    view = ok(appraise(h, proposal_id, "pass", not_passed=not_passed))
    assert view["state"] == "passed"
    assert candidates(view)["tan-phu", "collective"]["state"] == "not_passed"

    # The session: five of seven present.
    problem(open_session(h, who=CHAIR), 403, "forbidden_role")
    problem(open_session(h, [*FIVE, "nguoi-ngoai"]), 409, "not_members")
    meeting = ok(open_session(h), 201)
    sid = meeting["id"]
    assert (meeting["state"], meeting["members"], meeting["quorum"], meeting["quorum_met"]) == ("open", 7, "2/3", True)
    problem(open_session(h), 409, "session_already_open")
    phu_huu, an_nhon = ids["phu-huu", "collective"], ids["an-nhon", "collective"]
    problem(vote(h, sid, "council_member-hoa-tan", phu_huu), 403, "not_a_member")
    problem(vote(h, sid, "truong-phong-tckh", phu_huu), 403, "not_present")
    problem(vote(h, sid, CHAIR, ids["tan-phu", "collective"]), 409, "not_before_the_council")
    problem(vote(h, sid, CHAIR, ids["hoa-tan", "collective"]), 409, "not_before_the_council")
    assert ids["hoa-tan", "collective"] not in {c["dossier_id"] for c in meeting["candidates"]}
    assert (
        h.client.post(
            f"{SESSIONS}/{sid}/votes", json={"dossier_id": phu_huu, "choice": "yes"}, headers=member(h, CHAIR)
        ).status_code
        == 400
    )
    problem(decision(h), 409, "no_closed_session")

    ok(vote(h, sid, CHAIR, phu_huu, "reject"))
    ok(vote(h, sid, CHAIR, phu_huu, "abstain"))
    shown = ok(vote(h, sid, CHAIR, phu_huu, "approve"))
    [tallied] = [c for c in shown["candidates"] if c["dossier_id"] == phu_huu]
    assert tallied["tally"] == {"yes": 1, "no": 0, "abstain": 0, "eligible": 5}, "a changed vote counts once"
    assert [v["member"] for v in tallied["votes"]] == [CHAIR]
    votes(h, sid, phu_huu, yes=5)
    votes(h, sid, an_nhon, yes=3)
    votes(h, sid, ids["phu-huu", "individual"], yes=4)
    votes(h, sid, ids["tan-phu", "individual"], yes=3)
    problem(close(h, sid, who="truong-phong-vhtt"), 403, "forbidden_role")
    closed = ok(close(h, sid))
    assert closed["state"] == "closed"
    assert {(c["unit"], c["kind"]): (c["state"], c["prize_rank"]) for c in closed["candidates"]} == {
        ("phu-huu", "collective"): ("approved", 1),
        ("an-nhon", "collective"): ("approved", 2),
        ("tan-phu", "collective"): ("not_passed", None),
        ("phu-huu", "individual"): ("approved", None),
        ("tan-phu", "individual"): ("approved", None),
    }
    problem(vote(h, sid, CHAIR, an_nhon, "reject"), 409, "session_closed")

    # The decision.
    problem(decision(h, SECRETARY), 403, "forbidden_role")
    problem(decision(h, "truong-phong-vhtt"), 403, "forbidden_role")
    made = ok(decision(h), 201)
    assert made == {"decision_number": "1234/QĐ-UBND", "granted": 3, "refused": 3, "total": 4_730_000}
    problem(decision(h), 409, "decision_final")
    problem(decision(h, number="9999/QĐ-UBND"), 409, "decision_final")
    h.wait_for_event("award.granted", 3)
    h.wait_for_event("award.refused", 3)

    expected = {
        ("phu-huu", "collective"): ("awarded", 1, "Giải nhất", 2_500_000, "001/GK-2021"),
        ("an-nhon", "collective"): ("awarded", 2, "Giải nhì", 2_000_000, "002/GK-2021"),
        ("phu-huu", "individual"): ("awarded", None, INDIVIDUAL_AWARD, 230_000, "003/GK-2021"),
        ("tan-phu", "collective"): ("not_awarded", None, None, 0, None),
        ("tan-phu", "individual"): ("not_awarded", None, None, 0, None),
        ("hoa-tan", "collective"): ("not_awarded", None, None, 0, None),
    }
    for (unit, kind), (state, rank, name, amount, number) in expected.items():
        dossier = h.wait_for_state(ids[unit, kind], state, unit=unit)
        outcome = dossier["outcome"]
        assert (outcome["prize_rank"], outcome["prize_name"], outcome["amount"]) == (rank, name, amount), dossier
        assert (outcome["certificate_number"], outcome["decision_number"]) == (number, "1234/QĐ-UBND")
        assert outcome["decision_date"] == "2021-12-28"
    reason = h.get(ids["tan-phu", "individual"], unit="tan-phu")["outcome"]["reason"]
    assert reason == "Đơn vị của cá nhân không được khen thưởng tập thể, nên cá nhân không đủ điều kiện."
    assert h.get(ids["tan-phu", "collective"], unit="tan-phu")["outcome"]["reason"] == (
        "Phòng Nội vụ không trình Hội đồng đề nghị này."
    )
    assert h.get(ids["hoa-tan", "collective"], unit="hoa-tan")["outcome"]["reason"] == fourth, "never proposed"

    # The final list: JSON, CSV, XLSX.
    listed = ok(h.client.get(AWARDS, headers=home_affairs(h)))
    commune = next(t for t in listed["tracks"] if t["track"] == "commune")
    assert [
        (a["unit"], a["prize_name"], a["amount"], a["amount_words"], a["certificate_number"])
        for a in commune["collectives"]
    ] == [
        ("phu-huu", "Giải nhất", 2_500_000, "Hai triệu năm trăm ngàn đồng", "001/GK-2021"),
        ("an-nhon", "Giải nhì", 2_000_000, "Hai triệu đồng", "002/GK-2021"),
    ]
    [person] = commune["individuals"]
    assert (person["unit"], person["amount"], person["certificate_number"]) == ("phu-huu", 230_000, "003/GK-2021")
    assert person["amount_words"] == "Hai trăm ba mươi ngàn đồng"
    assert next(t for t in listed["tracks"] if t["track"] == "district")["collectives"] == []
    assert (listed["total"], listed["total_words"]) == (4_730_000, "Bốn triệu bảy trăm ba mươi ngàn đồng")
    assert (commune["collectives"][0]["amount_text"], listed["total_text"]) == ("2.500.000 đồng", "4.730.000 đồng")
    assert [d["number"] for d in listed["decisions"]] == ["1234/QĐ-UBND"]

    response = h.client.get(f"{AWARDS}?format=csv", headers=home_affairs(h))
    assert response.status_code == 200 and response.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][:2] == ["Khối", "Đơn vị"] and len(rows) == 5
    assert rows[1][1:7] == ["Phú Hựu", "Tập thể", "Giải nhất", "2500000", "Hai triệu năm trăm ngàn đồng", "001/GK-2021"]
    assert rows[-1][0] == "Tổng cộng" and rows[-1][4] == "4730000"

    response = h.client.get(f"{AWARDS}?format=xlsx", headers=home_affairs(h))
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    table = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert [row[4] for row in table[1:]] == [2_500_000, 2_000_000, 230_000, 4_730_000]
    assert table[-1][5] == "Bốn triệu bảy trăm ba mươi ngàn đồng"


# Below the targets, rejected, returned, an individual of a unit with no prize: all left out, each for its reason.
LEFT_OUT_FIGURES = {
    "tu-phap": (800, 1000, 15, 21),
    "an-khanh": (599, 1000, 10, 10),
    "tan-binh": (700, 1000, 8, 10),
    "cai-tau-ha": (900, 1000, 9, 10),
    "phu-long": (900, 1000, 9, 10),
}
FIGURES_REJECTED = "Số liệu tự chấm không khớp phần mềm một cửa."
LEFT_OUT_REASONS = {
    ("an-khanh", "collective"): (
        "Chưa đạt chỉ tiêu tỷ lệ hồ sơ TTHC được xử lý trực tuyến mức 4 (60,00 %): đơn vị đạt 59,90 % "
        "(599/1.000 hồ sơ)."
    ),
    ("tan-binh", "collective"): f"Hồ sơ không được thông qua ở bước “Đối chiếu số liệu”: {FIGURES_REJECTED}",
    ("cai-tau-ha", "collective"): "Hồ sơ đã bị trả lại để bổ sung và chưa được thẩm định lại.",
    ("tan-phu", "individual"): "Đơn vị không đạt giải tập thể, nên cá nhân không đủ điều kiện khen thưởng.",
}


def test_every_dossier_of_the_campaign_hears_its_outcome_when_the_chair_decides(intake: Harness) -> None:
    h = intake
    import_figures(h, LEFT_OUT_FIGURES)
    ids = {(unit, "collective"): submitted(h, unit) for unit in LEFT_OUT_FIGURES}
    ids["tan-phu", "individual"] = submitted(h, "tan-phu", "individual")
    draft = h.create("collective", "an-hiep")["id"]
    for key in [("tu-phap", "collective"), ("an-khanh", "collective"), ("tan-phu", "individual")]:
        review_steps(h, ids[key])
    review_steps(h, ids["tan-binh", "collective"], reject_at="figures", note=FIGURES_REJECTED)
    returned = {"reasons": [{"field": "bien_ban", "message": "Biên bản họp chưa có chữ ký."}]}
    ok(
        h.client.post(
            f"/review/nominations/{ids['cai-tau-ha', 'collective']}/return", json=returned, headers=reviewer(h)
        )
    )
    h.wait_for_state(ids["cai-tau-ha", "collective"], "returned", unit="cai-tau-ha")
    withdrawn = ids["phu-long", "collective"]
    ok(
        h.client.post(
            f"/intake/dossiers/{withdrawn}/withdraw", json={"reason": "Rút."}, headers=h.headers(unit="phu-long")
        )
    )
    wait_until(
        lambda: ok(h.client.get(f"/review/nominations/{withdrawn}", headers=reviewer(h)))["state"] == "withdrawn",
        what="review to hear of the withdrawal",
    )
    ok(h.client.post(REVIEW_PROPOSAL, json={"note": None}, headers=h.headers("review_head", VHTT)), 201)

    [submitted_event] = h.wait_for_event("proposal.submitted")
    proposal_id = submitted_event["payload"]["proposal_id"]
    view = proposal(h, proposal_id)
    assert [c["unit"] for c in view["candidates"]] == ["tu-phap"]
    assert {(c["unit"], c["kind"]): c["reason"] for c in view["not_proposed"]} == LEFT_OUT_REASONS
    ok(appraise(h, proposal_id, "pass"))
    sid = ok(open_session(h), 201)["id"]
    votes(h, sid, ids["tu-phap", "collective"], yes=4)
    ok(close(h, sid))
    assert ok(decision(h), 201) == {"decision_number": "1234/QĐ-UBND", "granted": 1, "refused": 4, "total": 2_500_000}

    for (unit, kind), reason in LEFT_OUT_REASONS.items():
        dossier = h.wait_for_state(ids[unit, kind], "not_awarded", unit=unit)  # as its clerk reads it
        assert (dossier["outcome"]["reason"], dossier["outcome"]["decision_number"]) == (reason, "1234/QĐ-UBND")
        assert dossier["history"][-1]["reason"] == reason
    h.wait_for_state(ids["tu-phap", "collective"], "awarded", unit="tu-phap")
    auditor = h.headers("auditor", None, "Kiểm toán viên")
    left = ok(h.client.get(f"/intake/dossiers?campaign={CAMPAIGN}&state=submitted", headers=auditor))
    assert left == [], "no dossier of the campaign is left waiting"
    assert h.get(withdrawn, unit="phu-long")["state"] == "withdrawn", "a withdrawn dossier left; it is not refused"
    assert h.get(draft, unit="an-hiep")["state"] == "draft", "a draft never reached review"

    # The audit log tells it: the proposal names how many it left out; each dossier's timeline ends with the reason.
    def timeline_ends_refused() -> list[dict[str, Any]] | None:
        steps = ok(h.client.get(f"/audit/subjects/{ids['cai-tau-ha', 'collective']}", headers=auditor))["entries"]
        return steps if steps[-1]["type"] == "dossier.not_awarded" else None

    steps = wait_until(timeline_ends_refused, what="the returned dossier's refusal in the audit log")
    refused = next(s for s in steps if s["type"] == "award.refused")
    assert refused["sentence"].endswith("quyết định không khen thưởng hồ sơ")
    assert refused["reason"] == LEFT_OUT_REASONS["cai-tau-ha", "collective"]
    entries = ok(h.client.get("/audit/entries?type=proposal.submitted", headers=auditor))["entries"]
    assert entries[0]["version"] == 2
    assert entries[0]["sentence"].endswith("(1 hồ sơ; 4 hồ sơ không được đề nghị, có nêu lý do)")


# == a proposal put on the bus as review sends it ==============================================================


def propose(
    h: Harness, collectives: Sequence[dict[str, Any]], individuals: Sequence[dict[str, Any]] = (), round_: int = 1
) -> str:
    proposal_id = str(uuid.uuid4())
    send(h, proposal_id, collectives, individuals, round_)
    proposal(h, proposal_id, round_)
    return proposal_id


def send(
    h: Harness,
    proposal_id: str,
    collectives: Sequence[dict],
    individuals: Sequence[dict] = (),
    round_: int = 1,
    not_proposed: Sequence[dict] | None = None,
):
    """``proposal.submitted`` as review sends it: version 2 when it states ``not_proposed``, else version 1."""
    payload = {
        "proposal_id": proposal_id,
        "round": round_,
        "dossier_ids": [c["dossier_id"] for c in [*collectives, *individuals]],
        "collectives": list(collectives),
        "individuals": list(individuals),
        "note": None,
        "trigger": "submit" if round_ == 1 else "resubmit",
        "from_state": "draft" if round_ == 1 else "returned",
        "to_state": "submitted",
        "reason": None,
    }
    if not_proposed is None:
        return h.inject("proposal.submitted", proposal_id, payload)
    return h.inject("proposal.submitted", proposal_id, {**payload, "not_proposed": list(not_proposed)}, version=2)


def left_out(unit: str, kind: str = "collective", reason: str = "Chưa đạt chỉ tiêu.") -> dict[str, Any]:
    """A ``not_proposed`` item of version 2."""
    name = default_campaign().unit(unit).name
    return {"dossier_id": str(uuid.uuid4()), "unit": unit, "unit_name": name, "kind": kind, "reason": reason}


PRIZES = {1: ("Giải nhất", 2_500_000), 2: ("Giải nhì", 2_000_000), 3: ("Giải ba", 1_500_000)}


def collective(unit: str, rank: int, track: str = "commune", **extra: Any) -> dict[str, Any]:
    name, amount = PRIZES[rank]
    return {
        "dossier_id": str(uuid.uuid4()),
        "unit": unit,
        "unit_name": default_campaign().unit(unit).name,
        "track": track,
        "rank": rank,
        "prize_rank": rank,
        "prize_name": name,
        "amount": amount,
        "tie": [],
        "contested": [],
        "counts": {"online_case_files": 9, "total_case_files": 10, "online_procedures": 9, "total_procedures": 10},
        **extra,
    }


def test_the_same_proposal_delivered_twice_makes_its_candidates_once(intake: Harness) -> None:
    h = intake
    listed = [collective("phu-huu", 1), collective("an-nhon", 2)]
    proposal_id = str(uuid.uuid4())
    event = send(h, proposal_id, listed)
    proposal(h, proposal_id)
    consumer = h.system.consumers["awards"]
    before = consumer.applied + consumer.duplicates
    Producer(h.connection.channel()).publish(  # the same event again, then the same round under another id
        CATALOGUE.to_message(event), exchange=h.system.topology.events, routing_key=event.type, message_id=event.id
    )
    send(h, proposal_id, listed)
    wait_until(lambda: consumer.applied + consumer.duplicates >= before + 2, what="awards to take both deliveries")
    view = proposal(h, proposal_id)
    assert sorted(c["dossier_id"] for c in view["candidates"]) == sorted(c["dossier_id"] for c in listed)
    assert view["not_proposed"] == [], "version 1 states no one left out, and is still accepted"
    h.wait_for_event("proposal.received")
    wait_until(lambda: all(r.relay.pending() == 0 for r in h.system.runtimes.values()), what="the relays to be idle")
    assert len(h.events("proposal.received")) == 1


def test_who_was_left_out_is_kept_once_replaced_by_a_resending_and_refused_by_the_decision(intake: Harness) -> None:
    h = intake
    first = collective("phu-huu", 1)
    hoa_tan, person = left_out("hoa-tan", reason="Xếp hạng 4."), left_out("an-khanh", "individual")
    proposal_id = str(uuid.uuid4())
    event = send(h, proposal_id, [first], not_proposed=[hoa_tan, person])
    view = proposal(h, proposal_id)
    assert [(c["unit"], c["kind"], c["state"], c["reason"]) for c in view["not_proposed"]] == [
        ("hoa-tan", "collective", "not_proposed", "Xếp hạng 4."),
        ("an-khanh", "individual", "not_proposed", "Chưa đạt chỉ tiêu."),
    ]
    assert [c["unit"] for c in view["candidates"]] == ["phu-huu"]
    consumer = h.system.consumers["awards"]
    before = consumer.applied + consumer.duplicates
    Producer(h.connection.channel()).publish(  # the same event redelivered
        CATALOGUE.to_message(event), exchange=h.system.topology.events, routing_key=event.type, message_id=event.id
    )
    wait_until(lambda: consumer.applied + consumer.duplicates > before, what="awards to take the redelivery")
    assert len(proposal(h, proposal_id)["not_proposed"]) == 2, "kept once"

    ok(appraise(h, proposal_id, "return", ["Bổ sung lý do."]))
    send(h, proposal_id, [first], round_=2, not_proposed=[hoa_tan])
    assert [c["unit"] for c in proposal(h, proposal_id, round_=2)["not_proposed"]] == ["hoa-tan"], "replaced"
    before = consumer.applied + consumer.duplicates
    send(h, proposal_id, [first], not_proposed=[hoa_tan, person])  # round 1 again, late, under another id
    wait_until(lambda: consumer.applied + consumer.duplicates > before, what="awards to take the late round")
    assert [c["unit"] for c in proposal(h, proposal_id, round_=2)["not_proposed"]] == ["hoa-tan"], "a late round: no"
    not_passed = [{"dossier_id": hoa_tan["dossier_id"], "reason": "Không trình."}]
    problem(appraise(h, proposal_id, "pass", not_passed=not_passed), 409, "not_in_proposal")

    ok(appraise(h, proposal_id, "pass"))
    sid = ok(open_session(h), 201)["id"]
    assert [c["unit"] for c in session(h, sid)["candidates"]] == ["phu-huu"], "the council sees only the proposed"
    problem(vote(h, sid, CHAIR, hoa_tan["dossier_id"]), 409, "not_before_the_council")
    votes(h, sid, first["dossier_id"], yes=5)
    ok(close(h, sid))
    assert ok(decision(h), 201)["refused"] == 1
    [refused] = h.wait_for_event("award.refused")
    assert (refused["subject"], refused["payload"]["reason"], refused["payload"]["from_state"]) == (
        hoa_tan["dossier_id"],
        "Xếp hạng 4.",
        "not_proposed",
    )
    assert (refused["payload"]["decision_number"], refused["unit"]) == ("1234/QĐ-UBND", "hoa-tan")

    # An amending decision may still grant it.
    url = "/awards/campaigns/chau-thanh-2021/decisions/1234/QĐ-UBND/amendments"
    change = {"dossier_id": hoa_tan["dossier_id"], "granted": True, "prize_rank": 3}
    body = {"decision_number": "1300/QĐ-UBND", "decision_date": "2021-12-29", "reason": "Hội đồng xét lại.",
            "changes": [change]}  # fmt: skip
    assert ok(h.client.post(url, json=body, headers=member(h, CHAIR)), 201)["granted"] == 1
    [granted] = [e for e in h.wait_for_event("award.granted", 2) if e["subject"] == hoa_tan["dossier_id"]]
    assert (granted["payload"]["prize_name"], granted["payload"]["from_state"]) == ("Giải ba", "refused")


def test_a_wrong_amount_is_refused_whole_and_a_tie_is_settled_by_the_councils_votes(intake: Harness) -> None:
    h = intake
    wrong = [collective("phu-huu", 1, amount=3_000_000), collective("an-nhon", 2)]
    proposal_id = propose(h, wrong)
    not_passed = [{"dossier_id": wrong[1]["dossier_id"], "reason": "Không đạt."}]
    body = problem(appraise(h, proposal_id, "pass", not_passed=not_passed), 409, "amount_mismatch")
    assert len(body["problems"]) == 1 and "Phú Hựu" in body["problems"][0]
    view = proposal(h, proposal_id)
    assert {c["state"] for c in view["candidates"]} == {"proposed"}, "nothing half-applied"
    ok(appraise(h, proposal_id, "return", ["Sai số tiền giải nhất."]))

    tie = {"prize_rank": None, "prize_name": None, "amount": None, "contested": [2, 3]}
    first = collective("phu-huu", 1)
    hoa_tan = collective("hoa-tan", 2, **tie, tie=["an-khanh"])
    an_khanh = collective("an-khanh", 2, **tie, tie=["hoa-tan"], dossier_id=str(uuid.uuid4()))
    send(h, proposal_id, [first, hoa_tan, an_khanh], round_=2)
    proposal(h, proposal_id, round_=2)
    ok(appraise(h, proposal_id, "pass"))
    sid = ok(open_session(h, [*FIVE, "truong-phong-tckh"]), 201)["id"]
    six = [*FIVE, "truong-phong-tckh"]
    votes(h, sid, first["dossier_id"], yes=6, present=six)
    votes(h, sid, hoa_tan["dossier_id"], yes=4, present=six)
    votes(h, sid, an_khanh["dossier_id"], yes=4, present=six)
    problem(close(h, sid), 409, "tie_unresolved")
    assert session(h, sid)["state"] == "open"
    ok(vote(h, sid, "truong-phong-tckh", an_khanh["dossier_id"], "approve"))  # voting again settles it
    closed = ok(close(h, sid))
    assert {c["unit"]: c["prize_rank"] for c in closed["candidates"]} == {"phu-huu": 1, "an-khanh": 2, "hoa-tan": 3}
    made = ok(decision(h), 201)
    assert made["total"] == 2_500_000 + 2_000_000 + 1_500_000 == 6_000_000
    assert ok(h.client.get(AWARDS, headers=home_affairs(h)))["total_words"] == "Sáu triệu đồng"


def test_no_quorum_no_close_and_no_vote_on_ones_own_unit(intake: Harness) -> None:
    h = intake
    district = collective(VHTT, 1, track="district")
    proposal_id = propose(h, [district, collective("phu-huu", 1)])
    ok(appraise(h, proposal_id, "pass"))
    four = FIVE[:4]
    sid = ok(open_session(h, four), 201)["id"]
    assert session(h, sid)["quorum_met"] is False
    problem(vote(h, sid, "truong-phong-vhtt", district["dossier_id"]), 403, "own_unit")
    votes(h, sid, district["dossier_id"], yes=3, present=four)
    [tallied] = [c for c in session(h, sid)["candidates"] if c["unit"] == VHTT]
    assert tallied["tally"] == {"yes": 3, "no": 0, "abstain": 0, "eligible": 3}
    problem(close(h, sid), 409, "no_quorum")
    shown = session(h, sid)
    assert shown["state"] == "open" and {c["state"] for c in shown["candidates"]} == {"proposed"}
    problem(decision(h), 409, "no_closed_session")


def test_a_session_without_quorum_is_adjourned_and_does_not_block_the_next_one(intake: Harness) -> None:
    h = intake
    proposal_id = propose(h, [collective("phu-huu", 1)])
    ok(appraise(h, proposal_id, "pass"))
    sid = ok(open_session(h, FIVE[:4]), 201)["id"]
    problem(close(h, sid), 409, "no_quorum")
    problem(open_session(h, FIVE), 409, "session_already_open")
    adjourned = h.client.post(
        f"/awards/sessions/{sid}/adjourn", json={"reason": "Không đủ số thành viên"}, headers=member(h, SECRETARY)
    )
    assert ok(adjourned)["state"] == "adjourned"
    ok(open_session(h, FIVE), 201)


def test_the_sessions_are_listed_newest_first_by_campaign_a_page_at_a_time_for_the_council_and_its_readers(
    intake: Harness,
) -> None:
    h = intake
    proposal_id = propose(h, [collective("phu-huu", 1)])
    ok(appraise(h, proposal_id, "pass"))
    first = ok(open_session(h, FIVE[:4]), 201)["id"]
    ok(
        h.client.post(
            f"{SESSIONS}/{first}/adjourn", json={"reason": "Không đủ số thành viên"}, headers=member(h, CHAIR)
        )
    )
    h.clock.advance(timedelta(hours=1))
    second = ok(open_session(h), 201)["id"]

    def listing(query: str = "", who: dict[str, str] | None = None) -> TestResponse:
        return h.client.get(f"{SESSIONS}{query}", headers=who or member(h, "pho-chu-tich-ubnd"))

    listed = ok(listing(f"?campaign={CAMPAIGN}"))
    assert [(s["id"], s["state"], s["present"]) for s in listed] == [(second, "open", 5), (first, "adjourned", 4)]
    assert listed[0]["state_name"] != listed[1]["state_name"] and VIETNAMESE.search(listed[1]["state_name"])
    pages = [listing(f"?campaign={CAMPAIGN}&page={page}&page_size=1") for page in (1, 2)]
    assert [[s["id"] for s in ok(p)] for p in pages] == [[second], [first]]
    assert [json.loads(p.headers["X-Pagination"])["total"] for p in pages] == [2, 2]
    assert ok(listing("?campaign=ha-noi-1990")) == []
    assert json.loads(listing("?campaign=ha-noi-1990").headers["X-Pagination"])["total"] == 0
    problem(listing("?page_size=101"), 400, "validation_failed")

    readers = [home_affairs(h), h.headers("reviewer", VHTT), h.headers("auditor", None), member(h, SECRETARY)]
    assert all(len(ok(listing(who=who))) == 2 for who in readers)
    problem(listing(who=h.headers("unit_clerk", "phu-huu")), 403, "forbidden_role")
    assert h.client.get(SESSIONS).status_code == 401


def test_a_correction_is_a_new_amending_decision_and_the_first_stays_as_it_was(intake: Harness) -> None:
    h = intake
    winner, second = collective("phu-huu", 1), collective("an-nhon", 2)
    proposal_id = propose(h, [winner, second])
    ok(appraise(h, proposal_id, "pass"))
    sid = ok(open_session(h), 201)["id"]
    votes(h, sid, winner["dossier_id"], yes=5)
    votes(h, sid, second["dossier_id"], yes=1)
    ok(close(h, sid))
    ok(decision(h), 201)
    assert ok(h.client.get(AWARDS, headers=home_affairs(h)))["total"] == 2_500_000

    url = "/awards/campaigns/chau-thanh-2021/decisions/1234/QĐ-UBND/amendments"
    body = {
        "decision_number": "1300/QĐ-UBND",
        "decision_date": "2021-12-28",
        "reason": "Hội đồng biểu quyết lại theo kiến nghị của Phòng Nội vụ.",
        "changes": [
            {"dossier_id": winner["dossier_id"], "granted": False},
            {"dossier_id": second["dossier_id"], "granted": True, "prize_rank": 1},
        ],
    }
    problem(h.client.post(url, json=body, headers=member(h, SECRETARY)), 403, "forbidden_role")
    missing = "/awards/campaigns/chau-thanh-2021/decisions/9999/amendments"
    problem(h.client.post(missing, json=body, headers=member(h, CHAIR)), 404, "decision_not_found")
    twice = {**body, "changes": [*body["changes"], {"dossier_id": winner["dossier_id"], "granted": True}]}
    refused_twice = problem(h.client.post(url, json=twice, headers=member(h, CHAIR)), 400, "validation_failed")
    assert [e["code"] for e in refused_twice["errors"]["changes.2.dossier_id"]] == ["duplicate_dossier"]
    unnamed = {**body, "changes": [{"granted": False}, {"dossier_id": 5, "granted": True}, *body["changes"]]}
    refused_unnamed = problem(h.client.post(url, json=unnamed, headers=member(h, CHAIR)), 400, "validation_failed")
    assert {field: [e["code"] for e in errors] for field, errors in refused_unnamed["errors"].items()} == {
        "changes.0.dossier_id": ["required"],
        "changes.1.dossier_id": ["invalid_string"],
    }
    backdated = problem(
        h.client.post(url, json={**body, "decision_date": "2021-12-27"}, headers=member(h, CHAIR)),
        409,
        "decision_date_before_amended",
    )
    assert backdated["amended_date"] == "2021-12-28" and "28/12/2021" in backdated["detail"]
    assert [d["number"] for d in ok(h.client.get(AWARDS, headers=home_affairs(h)))["decisions"]] == ["1234/QĐ-UBND"]
    made = ok(h.client.post(url, json=body, headers=member(h, CHAIR)), 201)
    assert (made["amends"], made["granted"], made["refused"]) == ("1234/QĐ-UBND", 1, 1)
    problem(h.client.post(url, json=body, headers=member(h, CHAIR)), 409, "decision_number_taken")

    final = ok(h.client.get(AWARDS, headers=home_affairs(h)))
    [listed] = [a for t in final["tracks"] for a in t["collectives"]]
    assert (listed["unit"], listed["prize_name"], listed["decision"]) == ("an-nhon", "Giải nhất", "1300/QĐ-UBND")
    assert final["total"] == 2_500_000
    assert [d["number"] for d in final["decisions"]] == ["1234/QĐ-UBND", "1300/QĐ-UBND"]
    amended = [e for e in h.wait_for_event("decision.made", count=2) if e["payload"]["amends"]]
    assert amended[0]["payload"]["amends"] == "1234/QĐ-UBND"
    refused = [e for e in h.events("award.refused") if e["subject"] == winner["dossier_id"]]
    assert refused and refused[-1]["payload"]["decision_number"] == "1300/QĐ-UBND"


# == members voting at the same moment =========================================================================

SEVEN = [m.id for m in COUNCIL.members]


@contextmanager
def session_row_held(h: Harness, session_id: str) -> Iterator[Callable[[int], None]]:
    """On PostgreSQL, hold the session's row locked as a third writer would (``FOR NO KEY UPDATE``) until the block
    ends; the block's function waits until ``n`` requests wait for it. Each request then starts from the same
    committed state and they all go at once when the lock goes: a real race every time, not only when lucky.
    SQLite lets one writer in at a time, so there the barrier alone sends them together."""
    if h.stack.name != "production":
        yield lambda n: None
        return
    engine = h.system.runtimes["awards"].engine
    waiting = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = :db AND wait_event_type = 'Lock'"
    ).bindparams(db=engine.url.database)
    with engine.connect() as holder:
        holder.execute(sa.text("SELECT 1 FROM sessions WHERE id = :id FOR NO KEY UPDATE"), {"id": session_id})

        def waiters(n: int) -> None:
            def blocked() -> bool:
                with engine.connect() as probe:
                    return int(probe.execute(waiting).scalar_one()) >= n

            wait_until(blocked, timeout=30, interval=0.02, what=f"{n} requests waiting for the session's row")

        yield waiters
        holder.rollback()


def at_once(h: Harness, session_id: str, posts: Sequence[tuple[str, dict[str, Any] | None, str]]) -> list[TestResponse]:
    """Each (path, body, council member) posted from its own thread and client, all released together against
    the session ``session_id``; the answers in the order of ``posts``."""
    start = threading.Barrier(len(posts), timeout=10)
    answers: dict[int, TestResponse] = {}

    def send(index: int, path: str, body: dict[str, Any] | None, person: str) -> None:
        client = h.client.application.test_client()
        headers = member(h, person)
        start.wait()
        answers[index] = client.post(path, json=body, headers=headers)

    threads = [threading.Thread(target=send, args=(i, *post)) for i, post in enumerate(posts)]
    with session_row_held(h, session_id) as waiters:
        for thread in threads:
            thread.start()
        waiters(len(posts))
    for thread in threads:
        thread.join(timeout=60)
    assert len(answers) == len(posts), "a request never answered"
    return [answers[i] for i in range(len(posts))]


def ballot(session_id: str, dossier_id: str, choice: str, person: str) -> tuple[str, dict[str, Any], str]:
    return f"{SESSIONS}/{session_id}/votes", {"dossier_id": dossier_id, "choice": choice}, person


def cast(h: Harness, dossier_id: str, count: int) -> list[tuple[str, str, str | None]]:
    """The ``vote.cast`` events on one candidate, once ``count`` went over the wire: (member, choice, replaces)."""

    def on_it() -> list[dict[str, Any]]:
        return [e for e in h.events("vote.cast") if e["subject"] == dossier_id]

    wait_until(lambda: len(on_it()) >= count, what=f"{count} vote.cast on {dossier_id}")
    return [(e["payload"]["member_id"], e["payload"]["choice"], e["payload"]["replaces"]) for e in on_it()]


def votes_on(h: Harness, session_id: str, dossier_id: str) -> dict[str, str]:
    [found] = [c for c in session(h, session_id)["candidates"] if c["dossier_id"] == dossier_id]
    return {v["member"]: v["choice"] for v in found["votes"]}


def test_members_voting_on_one_session_at_the_same_moment_all_have_their_votes_counted(intake: Harness) -> None:
    """Seven members vote on their phones when the chair calls the vote: nobody is asked to vote again. Every
    round sends each member's vote on one candidate at once, first votes and then changes of mind."""
    h = intake
    listed = [collective(unit, rank) for rank, unit in enumerate(("phu-huu", "an-nhon", "tan-phu"), start=1)]
    ok(appraise(h, propose(h, listed), "pass"))
    sid = ok(open_session(h, SEVEN), 201)["id"]
    for choice in ("approve", "reject", "abstain"):
        for candidate in listed:
            answers = at_once(h, sid, [ballot(sid, candidate["dossier_id"], choice, person) for person in SEVEN])
            assert [a.status_code for a in answers] == [200] * len(SEVEN), [
                a.text for a in answers if a.status_code != 200
            ]
            assert votes_on(h, sid, candidate["dossier_id"]) == dict.fromkeys(SEVEN, choice)
    for candidate in listed:
        shown = cast(h, candidate["dossier_id"], 3 * len(SEVEN))
        assert sorted(shown) == sorted(
            (person, now, before)
            for person in SEVEN
            for now, before in (("approve", None), ("reject", "approve"), ("abstain", "reject"))
        )
    [shown] = [c for c in session(h, sid)["candidates"] if c["dossier_id"] == listed[0]["dossier_id"]]
    assert shown["tally"] == {"yes": 0, "no": 0, "abstain": 7, "eligible": 7}


def test_one_members_two_votes_at_the_same_moment_one_is_kept_and_the_other_refused(intake: Harness) -> None:
    """A member votes from a phone and a laptop at once, first on a candidate and then changing it. On PostgreSQL
    both requests start from the same state: the first votes meet the unique key of (session, member, candidate),
    the changes the vote's version, and the loser gets 409 ``concurrent_update`` with nothing of it kept. SQLite
    lets one writer in at a time, so there the second is simply a later change of mind, which names the first as
    the choice it replaces. Either way every kept vote went over the wire once and the last one is counted."""
    h = intake
    listed = [collective(unit, rank) for rank, unit in enumerate(("phu-huu", "an-nhon", "tan-phu"), start=1)]
    ok(appraise(h, propose(h, listed), "pass"))
    sid = ok(open_session(h, SEVEN), 201)["id"]
    for number, candidate in enumerate(listed):
        seat, dossier_id, kept = SEVEN[number], candidate["dossier_id"], 0
        for choices in (("approve", "reject"), ("abstain", "reject"), ("approve", "abstain")):
            answers = at_once(h, sid, [ballot(sid, dossier_id, choice, seat) for choice in choices])
            won = [choice for choice, a in zip(choices, answers, strict=True) if a.status_code == 200]
            for refused in (a for a in answers if a.status_code != 200):
                assert problem(refused, 409, "concurrent_update")["detail"] == (
                    "Hồ sơ vừa được người khác thay đổi; vui lòng tải lại rồi thử lại."
                )
            assert len(won) == (1 if h.stack.name == "production" else 2), [a.text for a in answers]
            kept += len(won)
            shown = cast(h, dossier_id, kept)
            assert len(shown) == kept, "a refused vote never goes over the wire"
            assert votes_on(h, sid, dossier_id) == {seat: shown[-1][1]}
            assert [replaces for _, _, replaces in shown] == [None] + [choice for _, choice, _ in shown[:-1]]


def test_a_vote_racing_the_close_is_counted_or_refused_never_lost(intake: Harness) -> None:
    """The chair closes the session while members are still voting: every vote committed is in the count the
    close made, and every vote too late is refused because the session is closed."""
    h = intake
    first, second = collective("phu-huu", 1), collective("an-nhon", 2)
    ok(appraise(h, propose(h, [first, second]), "pass"))
    sid = ok(open_session(h, FIVE), 201)["id"]
    early, late = FIVE[:2], FIVE[2:]
    for candidate in (first, second):
        for person in early:
            ok(vote(h, sid, person, candidate["dossier_id"], "approve"))
    racing = [ballot(sid, c["dossier_id"], "approve", person) for c in (first, second) for person in late]
    *answers, closed = at_once(h, sid, [*racing, (f"{SESSIONS}/{sid}/close", None, CHAIR)])
    assert ok(closed)["state"] == "closed"
    for answer in answers:
        if answer.status_code != 200:
            problem(answer, 409, "session_closed")
    wait_until(lambda: len(h.events("candidate.approved") + h.events("candidate.rejected")) == 2, what="the count")
    counted = {
        e["payload"]["dossier_id"]: e["payload"]["tally"]
        for e in h.events("candidate.approved") + h.events("candidate.rejected")
    }
    committed = sum(a.status_code == 200 for a in answers)
    for candidate in (first, second):
        recorded = votes_on(h, sid, candidate["dossier_id"])
        assert counted[candidate["dossier_id"]]["yes"] == len(recorded), "every committed vote is in the count"
    assert sum(len(votes_on(h, sid, c["dossier_id"])) for c in (first, second)) == 2 * len(early) + committed
