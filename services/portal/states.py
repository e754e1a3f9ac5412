"""The Vietnamese words the pages use for the services' codes — their states and the catalogue's event types —
since the APIs answer stable English codes, which people should not have to read."""

DOSSIER_STATES = {
    "draft": "Bản nháp",
    "submitted": "Đã nộp",
    "returned": "Bị trả lại để bổ sung",
    "withdrawn": "Đã rút",
    "awarded": "Được khen thưởng",
    "not_awarded": "Không được khen thưởng",
}

NOMINATION_STATES = {
    "in_review": "Đang thẩm định",
    "appraised": "Đã thẩm định đạt",
    "rejected": "Không đạt",
    "returned": "Đã trả lại đơn vị",
    "withdrawn": "Đơn vị đã rút",
}

# Every type of the catalogue (shared/catalogue.py), as the auditor's pages name it; a unit test keeps the two equal.
EVENT_NAMES = {
    "award.granted": "Quyết định khen thưởng",
    "award.refused": "Quyết định không khen thưởng",
    "campaign.deadline_extended": "Gia hạn thời hạn",
    "candidate.approved": "Hội đồng tán thành",
    "candidate.not_passed": "Phòng Nội vụ không trình hội đồng",
    "candidate.rejected": "Hội đồng không tán thành",
    "decision.made": "Ban hành quyết định khen thưởng",
    "dossier.awarded": "Hồ sơ được khen thưởng",
    "dossier.created": "Lập hồ sơ",
    "dossier.documents_uploaded": "Tải lên tài liệu",
    "dossier.not_awarded": "Hồ sơ không được khen thưởng",
    "dossier.outcome_amended": "Điều chỉnh kết quả khen thưởng",
    "dossier.reopened": "Hồ sơ trở lại đơn vị để bổ sung",
    "dossier.resubmitted": "Nộp lại hồ sơ",
    "dossier.returned": "Trả lại hồ sơ để bổ sung",
    "dossier.submitted": "Nộp hồ sơ",
    "dossier.updated": "Sửa nội dung hồ sơ",
    "dossier.withdrawn": "Rút hồ sơ",
    "figures.imported": "Nhập số liệu chính thức",
    "nomination.appraised": "Thẩm định đạt",
    "nomination.received": "Tiếp nhận hồ sơ để thẩm định",
    "nomination.rejected": "Thẩm định không đạt",
    "nomination.restarted": "Thẩm định lại hồ sơ nộp lại",
    "nomination.step_approved": "Thông qua một bước thẩm định",
    "nomination.withdrawn": "Hồ sơ rút khỏi thẩm định",
    "proposal.decided": "Tờ trình đã có quyết định",
    "proposal.passed": "Phòng Nội vụ trình hội đồng",
    "proposal.received": "Phòng Nội vụ tiếp nhận đề nghị",
    "proposal.received_again": "Phòng Nội vụ tiếp nhận lại đề nghị",
    "proposal.reopened": "Đề nghị bị trả lại để bổ sung",
    "proposal.returned": "Phòng Nội vụ trả lại đề nghị",
    "proposal.submitted": "Ký và gửi đề nghị khen thưởng",
    "session.adjourned": "Hoãn phiên họp",
    "session.closed": "Kết thúc phiên họp và kiểm phiếu",
    "session.opened": "Khai mạc phiên họp",
    "vote.cast": "Biểu quyết",
}


def event_name(code: str) -> str:
    """An event type in Vietnamese; a type the catalogue does not know yet (audit keeps those too) as its code."""
    return EVENT_NAMES.get(code, code)
