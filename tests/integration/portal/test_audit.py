"""The auditor's pages on the embedded stack: the search with its filters and their errors, a dossier's timeline,
the chain's verification, and the wall against everyone else."""

from __future__ import annotations

import re

from tests.integration.portal.conftest import Portal
from tests.integration.portal.story import Story
from tests.waiting import wait_until


def test_the_auditor_searches_with_filters_follows_a_dossier_and_verifies_the_chain(portal: Portal) -> None:
    ids = Story(portal).submitted("hoa-tan", "an-khanh")
    auditor = portal.signed_in("kiemtra")
    wait_until(lambda: "nhận hồ sơ để thẩm định" in auditor.open("/log/?unit=an-khanh"), what="review's receipt")

    page = auditor.open("/log/?unit=hoa-tan&type=dossier.submitted&occurred_from=01/12/2021&occurred_to=01/12/2021")
    rows = re.findall(r"<code>([\w.]+)</code>", page)
    assert rows == ["dossier.submitted"]
    assert '<td>Nộp hồ sơ<br><span class="muted"><code>dossier.submitted</code></span></td>' in page  # name, then code
    assert 'value="dossier.submitted" selected>Nộp hồ sơ (dossier.submitted)</option>' in page
    assert "Văn thư hoa-tan (văn thư, Hòa Tân) nộp hồ sơ" in page
    earlier = auditor.open("/log/?unit=hoa-tan&type=dossier.submitted&occurred_to=30/11/2021")
    assert re.findall(r"<code>([\w.]+)</code>", earlier) == [] and "Không có bản ghi nào khớp bộ lọc." in earlier
    oldest = auditor.open("/log/?order=oldest&page_size=50&role=unit_clerk&actor=unit_clerk-hoa-tan")
    assert re.findall(r"<code>([\w.]+)</code>", oldest)[0] == "dossier.created" and "An Khánh)" not in oldest

    bad = auditor.client.get("/log/?occurred_from=hôm qua&page_size=9999")
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400
    assert 'id="filter-occurred_from-error">Thời điểm không hợp lệ' in text
    assert 'id="filter-page_size-error">Phải từ 1 đến 500.' in text

    csv = auditor.client.get("/log/?unit=hoa-tan&format=csv")
    assert (
        csv.status_code == 200
        and "text/csv" in csv.headers["Content-Type"]
        and "nộp hồ sơ" in csv.get_data(as_text=True)
    )

    timeline = auditor.open(f"/log/subjects/{ids['hoa-tan']}")
    assert timeline.index("lập hồ sơ đề nghị khen thưởng tập thể") < timeline.index("nộp hồ sơ")
    assert "tiếp nhận hồ sơ để thẩm định" in timeline and "An Khánh" not in timeline
    assert re.search(r"· Lập hồ sơ <span class=\"muted\">· <code>dossier.created</code>", timeline)

    verdict = auditor.open("/log/verify")
    assert "Chuỗi nhật ký nguyên vẹn" in verdict
    count = re.search(r'id="verified-count">(\d+)<', verdict)
    head = re.search(r'<code class="hash">([0-9a-f]{64})</code>', verdict)
    assert count and head and int(count.group(1)) >= 12
    again = auditor.open(f"/log/verify?seq={count.group(1)}&hash={head.group(1)}")
    assert "Chuỗi nhật ký nguyên vẹn" in again
    half = auditor.client.get("/log/verify?seq=1")
    assert half.status_code == 400 and 'id="anchor-hash-error">Cần cả' in half.get_data(as_text=True)


def test_the_log_is_for_auditors_only(portal: Portal) -> None:
    for username in ("vanthu.hoa-tan", "chuyenvien1.vhtt", "chu-tich-ubnd"):
        person = portal.signed_in(username)
        for path in ("/log/", "/log/verify", "/log/subjects/x"):
            assert person.client.get(path).status_code == 403, (username, path)
        assert "Nhật ký" not in person.open("/")
