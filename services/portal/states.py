"""The Vietnamese words the pages use for the services' states (the APIs answer stable English codes)."""

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
