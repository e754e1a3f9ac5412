"""The campaign's steps that other people take, driven through the services' routes, so a page test starts from
the state it needs: dossiers submitted, figures imported, steps approved, the proposal sent, the council done."""

from __future__ import annotations

import io
from typing import Any

from tests.integration.harness import COMPLETE_COUNTS, COMPLETE_REPORT, DOCUMENT_KINDS, PDF
from tests.integration.portal.conftest import Portal
from tests.waiting import wait_until

CAMPAIGN = "chau-thanh-2021"
# Hòa Tân's own counts agree with the official ones; An Khánh declared 650 online case files, the one-stop shop
# counted 600; Tư pháp is a district office.
DECLARED = {
    "hoa-tan": COMPLETE_COUNTS,
    "an-khanh": {**COMPLETE_COUNTS, "online_case_files": 650},
    "tu-phap": {"online_case_files": 700, "total_case_files": 1000, "online_procedures": 15, "total_procedures": 21},
}
OFFICIAL_CSV = (
    "unit,online_case_files,total_case_files,online_procedures,total_procedures\n"
    "hoa-tan,720,1000,30,50\nan-khanh,600,1000,30,50\ntu-phap,700,1000,15,21\n"
)
PRESENT = ["chu-tich-ubnd", "pho-chu-tich-ubnd", "truong-phong-noi-vu", "truong-phong-vhtt", "chanh-van-phong"]


class Story:
    def __init__(self, portal: Portal):
        self.portal = portal
        self.client = portal.app.test_client()
        self.reviewer = portal.api_headers("reviewer", "van-hoa-thong-tin", "Phạm Thị Dung", "rev-a")
        self.appraiser = portal.api_headers("reviewer", "van-hoa-thong-tin", "Võ Minh Em", "rev-b")

    def call(self, method: str, path: str, headers: dict[str, str], **kwargs: Any) -> Any:
        response = self.client.open(path, method=method, headers=headers, **kwargs)
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.get_data(as_text=True)}"
        return response.get_json()

    def submitted(self, *units: str) -> dict[str, str]:
        """Each unit's complete collective dossier, submitted and received by review."""
        ids = {}
        for unit in units:
            clerk = self.portal.api_headers("unit_clerk", unit, f"Văn thư {unit}")
            body = {
                "campaign": CAMPAIGN,
                "kind": "collective",
                "report": COMPLETE_REPORT,
                "self_assessment": DECLARED[unit],
            }
            dossier_id = self.call("POST", "/intake/dossiers", clerk, json=body)["id"]
            for kind in DOCUMENT_KINDS:
                upload = {"file": (io.BytesIO(PDF), f"{kind}.pdf")}
                self.call("PUT", f"/intake/dossiers/{dossier_id}/documents/{kind}", clerk, data=upload)
            self.call("POST", f"/intake/dossiers/{dossier_id}/submit", clerk)
            ids[unit] = dossier_id
        for dossier_id in ids.values():
            path = f"/review/nominations/{dossier_id}"
            wait_until(lambda p=path: self.client.get(p, headers=self.reviewer).status_code == 200, what=path)
        return ids

    def figures_imported(self) -> None:
        upload = {"file": (io.BytesIO(OFFICIAL_CSV.encode()), "mot-cua.csv")}
        self.call("PUT", f"/review/campaigns/{CAMPAIGN}/figures", self.reviewer, data=upload)

    def appraised(self, dossier_id: str) -> None:
        base = f"/review/nominations/{dossier_id}/steps"
        self.call("POST", f"{base}/completeness", self.reviewer, json={"decision": "approve", "note": "Đủ"})
        override = {"decision": "approve", "note": "Chênh lệch nhỏ, chấp nhận", "override": True}
        self.call("POST", f"{base}/figures", self.reviewer, json=override)
        self.call("POST", f"{base}/appraisal", self.appraiser, json={"decision": "approve", "note": "Đạt"})

    def proposed(self, ids: dict[str, str]) -> str:
        """Every nomination appraised, the proposal signed; the id Home Affairs knows it by."""
        self.figures_imported()
        for dossier_id in ids.values():
            self.appraised(dossier_id)
        head = self.portal.api_headers("review_head", "van-hoa-thong-tin", "Lê Văn Giàu", "head")
        self.call("POST", f"/review/campaigns/{CAMPAIGN}/proposal", head, json={"note": "Kính trình"})
        home = self.home_affairs()
        found = wait_until(lambda: self.client.get("/awards/proposals", headers=home).get_json(), what="proposal")
        return str(found[0]["id"])

    def home_affairs(self) -> dict[str, str]:
        return self.portal.api_headers("home_affairs", "noi-vu", "Trần Thị Hạnh", "noivu")

    def passed(self, proposal_id: str) -> None:
        self.call("POST", f"/awards/proposals/{proposal_id}/appraisal", self.home_affairs(), json={"decision": "pass"})

    def member(self, seat: str, role: str = "council_member") -> dict[str, str]:
        return self.portal.api_headers(role, None, seat, seat)
