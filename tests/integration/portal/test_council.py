"""Home Affairs' and the council's pages on the embedded stack: the appraisal with a nomination not passed, the
secretary opening a session, each member's votes and the tally, a refused vote, closing, the chair's decision
and the final awards with their downloads."""

from __future__ import annotations

import re

from tests.integration.portal.conftest import Portal
from tests.integration.portal.story import CAMPAIGN, PRESENT, Story


def test_home_affairs_passes_the_proposal_with_one_nomination_not_passed_and_its_reason(portal: Portal) -> None:
    story = Story(portal)
    ids = story.submitted("hoa-tan", "tu-phap")
    proposal_id = story.proposed(ids)
    home = portal.signed_in("noivu")
    assert f"/proposals/{proposal_id}" in home.open("/proposals/")
    path = f"/proposals/{proposal_id}"
    home.open(path)

    returned_empty = home.post(f"{path}/appraisal", {"decision": "return", "reasons": ""})
    assert returned_empty.status_code == 400
    assert 'id="appraisal-reasons-error">Vui lòng ghi lý do' in returned_empty.get_data(as_text=True)
    no_reason = home.post(f"{path}/appraisal", {"decision": "pass", f"not_passed.{ids['tu-phap']}": "yes"})
    assert no_reason.status_code == 400
    assert f'id="reason-{ids["tu-phap"]}-error">Vui lòng ghi lý do' in no_reason.get_data(as_text=True)

    form = {"decision": "pass", f"not_passed.{ids['tu-phap']}": "yes", f"reason.{ids['tu-phap']}": "Thiếu xác nhận"}
    assert home.post(f"{path}/appraisal", form).status_code == 302
    page = home.open(path)
    assert 'id="proposal-state">Đã trình hội đồng' in page
    assert re.search(r"Phòng Tư pháp</a></th>.*?Không được trình hội đồng", page, re.S)
    assert "Ghi nhận kết quả thẩm định" not in page  # appraised once
    clerk = portal.signed_in("vanthu.hoa-tan")
    assert clerk.client.get(path).status_code == 403


def test_the_council_opens_votes_sees_the_tally_closes_and_the_chair_decides(portal: Portal) -> None:
    story = Story(portal)
    ids = story.submitted("hoa-tan", "an-khanh")
    story.passed(story.proposed(ids))

    secretary = portal.signed_in("truong-phong-noi-vu")
    secretary.open("/council/")
    nobody = secretary.post("/council/", {"campaign": "chau-thanh-2021"})
    assert nobody.status_code == 400 and 'id="open-error" role="alert">' in nobody.get_data(as_text=True)
    opened = secretary.post("/council/", {"campaign": "chau-thanh-2021", "present": PRESENT})
    assert opened.status_code == 302
    session_path = opened.headers["Location"].split("?")[0]
    assert "đang họp" in secretary.open("/council/").lower()

    for seat in PRESENT[:4]:
        member = portal.signed_in(seat)
        page = member.open(session_path)
        assert 'data-refresh="5"' in page and "Đủ số lượng tối thiểu" in page
        for dossier_id in ids.values():
            voted = member.post(f"{session_path}/votes", {"dossier_id": dossier_id, "choice": "approve"})
            assert voted.status_code == 302, voted.get_data(as_text=True)
    page = secretary.open(session_path)
    tally = re.search(rf'<tr id="tally-{ids["hoa-tan"]}">(.*?)</tr>', page, re.S)
    assert tally and re.search(r'<td class="number" data-yes>4</td>', tally.group(1))

    chair = portal.signed_in("chu-tich-ubnd")
    chair.open(session_path)
    changed = chair.post(f"{session_path}/votes", {"dossier_id": ids["an-khanh"], "choice": "abstain"})
    assert changed.status_code == 302
    assert "Không biểu quyết</strong>" in chair.open(session_path)
    assert chair.post(f"{session_path}/close").status_code == 302
    closed = chair.open(session_path)
    assert 'id="session-state">Đã kết thúc' in closed and "Phiếu của tôi" not in closed
    assert "data-refresh" not in closed

    chair.open("/council/decision")
    bad = chair.post("/council/decision", {"decision_number": "", "decision_date": "31/02/2021"})
    assert bad.status_code == 400 and 'id="decision-date-error">Vui lòng ghi ngày' in bad.get_data(as_text=True)
    empty = chair.post("/council/decision", {"decision_number": "", "decision_date": "20/12/2021"})
    assert empty.status_code == 400 and 'id="decision-number-error">Độ dài phải từ 1' in empty.get_data(as_text=True)
    decided = chair.post("/council/decision", {"decision_number": "1234/QĐ-UBND", "decision_date": "20/12/2021"})
    assert decided.status_code == 302

    prizes = portal.signed_in("vanthu.hoa-tan").open("/prizes")
    assert "1234/QĐ-UBND" in prizes and "20/12/2021" in prizes
    assert 'id="awards-total">4.500.000 đồng' in prizes and "Bốn triệu năm trăm ngàn đồng" in prizes
    download = chair.client.get("/prizes?format=xlsx")
    assert download.status_code == 200 and download.data[:2] == b"PK"


def test_a_member_cannot_vote_on_their_own_units_nomination_and_is_told_next_to_it(portal: Portal) -> None:
    story = Story(portal)
    ids = story.submitted("hoa-tan")
    story.passed(story.proposed(ids))
    secretary = portal.signed_in("truong-phong-noi-vu")
    secretary.open("/council/")
    session_path = secretary.post("/council/", {"campaign": "chau-thanh-2021", "present": PRESENT}).headers["Location"]
    session_path = session_path.split("?")[0]

    clerk = portal.signed_in("vanthu.hoa-tan")
    assert clerk.client.get(session_path).status_code == 403
    stranger = portal.signed_in("noivu")  # Home Affairs reads the session but holds no seat
    page = stranger.open(session_path)
    assert "Phiếu của tôi" not in page and "Kết thúc và kiểm phiếu" not in page
    member = portal.signed_in("pho-chu-tich-ubnd")
    member.open(session_path)
    refused = member.post(f"{session_path}/votes", {"dossier_id": ids["hoa-tan"], "choice": "maybe"})
    assert refused.status_code == 400
    assert re.search(rf'id="vote-error-{ids["hoa-tan"]}">[^<]+', refused.get_data(as_text=True))


def test_the_chair_amends_the_decision_and_every_refusal_lands_next_to_its_field(portal: Portal) -> None:
    story = Story(portal)
    ids = story.submitted("hoa-tan", "an-khanh")
    story.passed(story.proposed(ids))
    secretary = story.member("truong-phong-noi-vu", "council_secretary")
    opened = story.call("POST", "/awards/sessions", secretary, json={"campaign": CAMPAIGN, "present": PRESENT})
    for seat in PRESENT[:4]:
        for unit, choice in (("hoa-tan", "approve"), ("an-khanh", "reject")):
            vote = {"dossier_id": ids[unit], "choice": choice}
            story.call("POST", f"/awards/sessions/{opened['id']}/votes", story.member(seat), json=vote)
    chair_api = story.member("chu-tich-ubnd", "council_chair")
    story.call("POST", f"/awards/sessions/{opened['id']}/close", chair_api)
    decision = {"decision_number": "1234/QĐ-UBND", "decision_date": "2021-12-20"}
    story.call("POST", f"/awards/campaigns/{CAMPAIGN}/decision", chair_api, json=decision)

    chair = portal.signed_in("chu-tich-ubnd")
    page = chair.open("/council/decision")
    assert 'id="amendment-form"' in page and 'id="decision-form"' not in page
    assert re.search(rf'id="amend-{ids["hoa-tan"]}">.*?Được khen thưởng \(Giải nhất\)', page, re.S)
    assert re.search(rf'id="amend-{ids["an-khanh"]}">.*?Không được khen thưởng', page, re.S)
    withdraw, grant = f"change.{ids['hoa-tan']}", f"change.{ids['an-khanh']}"
    form = {"amends": "1234/QĐ-UBND", "decision_number": "1300/QĐ-UBND", "decision_date": "28/12/2021"}
    form |= {"reason": "Hội đồng biểu quyết lại theo kiến nghị của Phòng Nội vụ.", withdraw: "withdraw", grant: "grant"}
    amendments = "/council/decision/amendments"

    def refused(changed: dict[str, str], where: str, says: str) -> None:
        answer = chair.post(amendments, {**form, **changed})
        text = answer.get_data(as_text=True)
        assert answer.status_code == 400 and f'id="{where}-error">{says}' in text, text

    refused({"decision_date": "31/12/21"}, "decision-date", "Vui lòng ghi ngày")
    refused({}, f"prize-{ids['an-khanh']}", "Vui lòng chọn giải")  # granted without its prize
    form[f"prize.{ids['an-khanh']}"] = "1"
    refused({"reason": "Sai"}, "reason", "Độ dài phải từ 5")
    refused({"decision_number": "1234/QĐ-UBND"}, "decision-number", "Số quyết định “1234/QĐ-UBND” đã được dùng.")
    refused({"amends": "9999/QĐ-UBND"}, "amends", "Không có quyết định số “9999/QĐ-UBND”")
    refused({withdraw: "", grant: ""}, "changes", "")
    assert portal.signed_in("truong-phong-noi-vu").post(amendments, form).status_code == 403

    made = chair.post(amendments, form)
    assert made.status_code == 302 and "notice=amended" in made.headers["Location"]
    prizes = chair.open("/prizes")
    assert "Đã ban hành quyết định sửa đổi, bổ sung." in chair.open(made.headers["Location"])
    table = re.search(r'<table id="prizes-commune">(.*?)</table>', prizes, re.S)
    assert table and "An Khánh" in table.group(1) and "Giải nhất" in table.group(1) and "Hòa Tân" not in table.group(1)
    assert "1300/QĐ-UBND" in prizes and 'id="awards-total">2.500.000 đồng' in prizes
    assert "1300/QĐ-UBND" in chair.open("/council/decision")
