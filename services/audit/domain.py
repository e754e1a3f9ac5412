"""The audit log's rules: the hash chain, its verification, and the sentences a person reads.

Pure Python: values in, values out, no Flask, SQLAlchemy or kombu.

Every entry's hash covers every other column of the entry (its canonical content, :func:`content`) and the hash of
the entry before it, so changing, removing, reordering or inserting a row breaks the chain at that row:

    hash(n) = hex(sha256(hash(n-1) + "\n" + content(n)))      hash(0) = GENESIS = "000…0" (64 zeros)

``content(n)`` is the entry's columns as canonical JSON (sorted keys, no spaces, UTF-8 as is, instants as UTC ISO
8601 with microseconds), the payload among them as the canonical JSON text it is stored as. Anyone can recompute
the chain from the entries `GET /audit/entries` answers (the CSV export defuses cells a spreadsheet would run).

``seq`` is part of the content and counts 1, 2, 3 … without gaps (the appender assigns it from the head, never
from a database sequence, which would leave holes on a rollback), so a missing row shows as a gap.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from shared.clock import format_local_date
from shared.events import canonical_json

GENESIS = "0" * 64  # the "previous hash" of the first entry


@dataclass(frozen=True)
class Entry:
    """One row of the log, exactly as it is stored."""

    seq: int
    event_id: str
    type: str
    version: int
    producer: str
    actor_id: str
    actor_name: str
    actor_role: str
    actor_unit: str | None
    campaign: str | None
    unit: str | None
    subject: str
    dossier_id: str | None  # the dossier the payload names (review and awards events), for the timeline
    correlation_id: str
    causation_id: str | None
    occurred_at: datetime
    recorded_at: datetime
    payload: str  # canonical JSON text
    prev_hash: str
    hash: str

    def as_row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in COLUMNS}


COLUMNS = tuple(Entry.__dataclass_fields__)
HASHED = tuple(name for name in COLUMNS if name != "hash")
INSTANTS = ("occurred_at", "recorded_at")


def content(entry: Mapping[str, Any] | Entry) -> str:
    """The canonical text of an entry: every column but ``hash``, one spelling per value, instants in UTC."""
    if isinstance(entry, Entry):
        values = {name: getattr(entry, name) for name in HASHED}
    else:
        values = {name: entry[name] for name in HASHED}
    for name in INSTANTS:
        values[name] = _instant(values[name])
    return canonical_json(values)


def _instant(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError(f"an entry's instants must be timezone-aware: {value!r}")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(previous_hash: str, entry_content: str) -> str:
    return hashlib.sha256(f"{previous_hash}\n{entry_content}".encode()).hexdigest()


@dataclass(frozen=True)
class Head:
    """The end of the chain: the last entry's seq and hash (0 and GENESIS for an empty log)."""

    seq: int = 0
    hash: str = GENESIS


def seal(head: Head, **values: Any) -> Entry:
    """The entry that follows ``head``: its seq, the link to the head and its own hash."""
    seq = head.seq + 1
    unsealed = {**values, "seq": seq, "prev_hash": head.hash}
    return Entry(**unsealed, hash=entry_hash(head.hash, content(unsealed)))


def event_values(
    *,
    event_id: str,
    type: str,
    version: int,
    producer: str,
    actor: Mapping[str, Any],
    campaign: str | None,
    unit: str | None,
    subject: str,
    correlation_id: str,
    causation_id: str | None,
    occurred_at: datetime,
    recorded_at: datetime,
    payload: Mapping[str, Any],
) -> dict[str, Any]:
    """The columns of an entry for an event (all but seq and the hashes); ``payload`` is its JSON form."""
    dossier_id = payload.get("dossier_id")
    return {
        "event_id": event_id,
        "type": type,
        "version": version,
        "producer": producer,
        "actor_id": actor["id"],
        "actor_name": actor["name"],
        "actor_role": actor["role"],
        "actor_unit": actor.get("unit"),
        "campaign": campaign,
        "unit": unit,
        "subject": subject,
        "dossier_id": dossier_id if isinstance(dossier_id, str) else None,
        "correlation_id": correlation_id,
        "causation_id": causation_id,
        "occurred_at": occurred_at.astimezone(UTC),
        "recorded_at": recorded_at.astimezone(UTC),
        "payload": canonical_json(payload),
    }


# -- verification ------------------------------------------------------------------------------------------------

CONTENT_CHANGED = "hash does not match its content"
LINK_BROKEN = "previous hash does not match the entry before"
GAP = "sequence gap"
OUT_OF_ORDER = "sequence out of order"
ANCHOR_DIFFERS = "the noted entry has another hash"
ANCHOR_MISSING = "the noted entry is missing"

WHY_IN_VIETNAMESE = {
    CONTENT_CHANGED: "Nội dung bản ghi đã bị thay đổi: mã băm không khớp với nội dung.",
    LINK_BROKEN: "Chuỗi bị đứt: mã băm trước đó không khớp với bản ghi liền trước (bản ghi bị xóa, chèn hoặc đảo).",
    GAP: "Thiếu bản ghi: số thứ tự bị nhảy cóc.",
    OUT_OF_ORDER: "Số thứ tự bị lặp hoặc đảo.",
    ANCHOR_DIFFERS: "Bản ghi đã ghi nhận trước đây nay có mã băm khác: nhật ký đã bị viết lại.",
    ANCHOR_MISSING: "Bản ghi đã ghi nhận trước đây không còn trong nhật ký: nhật ký đã bị cắt bớt.",
}


@dataclass(frozen=True)
class Anchor:
    """An entry an auditor noted earlier (seq and hash): the log must still hold it unchanged.

    The chain alone cannot show that its last entries were cut off; a head noted earlier can.
    """

    seq: int
    hash: str


@dataclass(frozen=True)
class Verdict:
    intact: bool
    entries: int  # entries found intact (before the break, if broken)
    head: str  # hash of the last intact entry
    seq: int | None = None  # where it breaks
    event_id: str | None = None
    why: str | None = None
    expected: dict[str, Any] = field(default_factory=dict)  # what was expected where it breaks

    def as_dict(self) -> dict[str, Any]:
        if self.intact:
            return {"status": "intact", "entries": self.entries, "head": self.head}
        return {
            "status": "broken",
            "entries_checked": self.entries,
            "seq": self.seq,
            "event_id": self.event_id,
            "why": self.why,
            "detail": WHY_IN_VIETNAMESE.get(self.why or "", self.why),
            "expected": self.expected,
            "last_intact_hash": self.head,
        }


def verify(rows: Iterable[Entry], anchor: Anchor | None = None) -> Verdict:
    """Walk the chain in seq order; stop at the first entry that breaks it. Keeps O(1) state: any log size."""
    previous = Head()
    for row in rows:
        why, expected = _check(row, previous)
        if why is None and anchor is not None and row.seq == anchor.seq and row.hash != anchor.hash:
            why, expected = ANCHOR_DIFFERS, {"hash": anchor.hash}
        if why is not None:
            return Verdict(False, previous.seq, previous.hash, row.seq, row.event_id, why, expected)
        previous = Head(row.seq, row.hash)
    if anchor is not None and previous.seq < anchor.seq:
        return Verdict(False, previous.seq, previous.hash, anchor.seq, None, ANCHOR_MISSING, {"hash": anchor.hash})
    return Verdict(True, previous.seq, previous.hash)


def _check(row: Entry, previous: Head) -> tuple[str | None, dict[str, Any]]:
    if row.seq > previous.seq + 1:
        return GAP, {"seq": previous.seq + 1}
    if row.seq <= previous.seq:
        return OUT_OF_ORDER, {"seq": previous.seq + 1}
    if entry_hash(row.prev_hash, content(row)) != row.hash:
        return CONTENT_CHANGED, {}
    if row.prev_hash != previous.hash:
        return LINK_BROKEN, {"prev_hash": previous.hash}
    return None, {}


# -- what a person reads -----------------------------------------------------------------------------------------

ROLE_NAMES = {
    "unit_clerk": "văn thư",
    "reviewer": "chuyên viên thẩm định",
    "review_head": "trưởng phòng thẩm định",
    "home_affairs": "chuyên viên Phòng Nội vụ",
    "council_member": "thành viên Hội đồng Thi đua - Khen thưởng",
    "council_secretary": "thư ký Hội đồng Thi đua - Khen thưởng",
    "council_chair": "Chủ tịch Hội đồng Thi đua - Khen thưởng",
    "auditor": "kiểm toán viên",
    "admin": "quản trị viên",
    "system": "hệ thống",
}
KIND_NAMES = {"collective": "tập thể", "individual": "cá nhân"}


@dataclass(frozen=True)
class Names:
    """How people call the codes an event carries: units and document kinds (from the campaigns)."""

    units: Mapping[str, str] = field(default_factory=dict)
    documents: Mapping[str, str] = field(default_factory=dict)


NO_NAMES = Names()


def who(actor_name: str, actor_role: str, actor_unit: str | None, names: Names | None = None) -> str:
    """ "Nguyễn Văn A (văn thư, Xã Hòa Tân)": the person, their role, their unit."""
    details = [ROLE_NAMES.get(actor_role, actor_role)]
    if actor_unit:
        details.append((names or NO_NAMES).units.get(actor_unit, actor_unit))
    return f"{actor_name or '?'} ({', '.join(details)})"


def reason_of(payload: Mapping[str, Any]) -> str | None:
    """Why it was done, when the event says: its ``reason``, or the messages of its ``reasons``."""
    reason = payload.get("reason")
    if isinstance(reason, str) and reason.strip():
        return reason
    reasons = payload.get("reasons")
    if isinstance(reasons, list) and reasons:
        messages = [r.get("message") if isinstance(r, Mapping) else r for r in reasons]
        texts = [str(m) for m in messages if m]
        return "; ".join(texts) or None
    return None


Narrator = Callable[[str, Mapping[str, Any], Names], str]


def _day(value: object) -> str:
    try:
        return format_local_date(date.fromisoformat(str(value)))
    except ValueError:
        return str(value)


def _prize(payload: Mapping[str, Any]) -> str:
    outcome = payload.get("outcome") if isinstance(payload.get("outcome"), Mapping) else payload
    name = outcome.get("prize_name") if isinstance(outcome, Mapping) else None
    return f" ({name})" if name else ""


def _uploaded(payload: Mapping[str, Any], names: Names) -> str:
    def one(document: Mapping[str, Any]) -> str:
        kind = str(document.get("kind", ""))
        version, filename = document.get("version"), document.get("filename", "")
        return f"{names.documents.get(kind, kind)} (phiên bản {version}, tệp “{filename}”)"

    return "tải lên " + "; ".join(one(d) for d in payload.get("documents") or [] if isinstance(d, Mapping))


SENTENCES: Mapping[str, Narrator] = {
    "dossier.created": lambda w, p, n: f"{w} lập hồ sơ đề nghị khen thưởng {KIND_NAMES.get(p.get('kind', ''), '')}",
    "dossier.updated": lambda w, p, n: f"{w} sửa hồ sơ ({len(p.get('changed') or [])} mục)",
    "dossier.documents_uploaded": lambda w, p, n: f"{w} {_uploaded(p, n)}",
    "dossier.submitted": lambda w, p, n: f"{w} nộp hồ sơ",
    "dossier.resubmitted": lambda w, p, n: f"{w} nộp lại hồ sơ đã bổ sung (lần {p.get('round')})",
    "dossier.withdrawn": lambda w, p, n: f"{w} rút hồ sơ",
    "dossier.reopened": lambda w, p, n: f"Hồ sơ được chuyển lại cho đơn vị để bổ sung, theo ý kiến trả lại của {w}",
    "dossier.awarded": lambda w, p, n: f"Hồ sơ được ghi nhận khen thưởng{_prize(p)} theo quyết định do {w} ban hành",
    "dossier.not_awarded": lambda w, p, n: f"Hồ sơ được ghi nhận không khen thưởng theo quyết định do {w} ban hành",
    "dossier.outcome_amended": lambda w, p, n: (
        f"Kết quả khen thưởng của hồ sơ được điều chỉnh{_prize(p)} theo quyết định do {w} ban hành"
    ),
    "campaign.deadline_extended": lambda w, p, n: (
        f"{w} gia hạn nộp hồ sơ đến ngày {_day(p.get('new_date'))} (hạn trước: {_day(p.get('previous_date'))})"
    ),
    "dossier.returned": lambda w, p, n: f"{w} trả lại hồ sơ để đơn vị bổ sung",
    "nomination.received": lambda w, p, n: (
        f"Phòng Văn hóa và Thông tin tiếp nhận hồ sơ để thẩm định (lần {p.get('round')})"
    ),
    "nomination.step_approved": lambda w, p, n: f"{w} duyệt bước thẩm định “{p.get('step')}”",
    "nomination.appraised": lambda w, p, n: f"{w} hoàn tất thẩm định hồ sơ",
    "nomination.rejected": lambda w, p, n: f"{w} không duyệt bước thẩm định “{p.get('step')}”",
    "proposal.submitted": lambda w, p, n: (
        f"{w} ký và gửi tờ trình đề nghị khen thưởng ({len(p.get('dossier_ids') or [])} hồ sơ"
        + (f"; {len(p['not_proposed'])} hồ sơ không được đề nghị, có nêu lý do)" if p.get("not_proposed") else ")")
    ),
    "proposal.returned": lambda w, p, n: f"{w} trả lại tờ trình đề nghị khen thưởng",
    "award.granted": lambda w, p, n: f"{w} quyết định khen thưởng hồ sơ{_prize(p)}",
    "award.refused": lambda w, p, n: f"{w} quyết định không khen thưởng hồ sơ",
}


def sentence(
    type_: str,
    version: int,
    actor_name: str,
    actor_role: str,
    actor_unit: str | None,
    payload: Mapping[str, Any],
    names: Names | None = None,
) -> str:
    """Who did what, in Vietnamese: "Nguyễn Văn A (văn thư, Xã Hòa Tân) nộp hồ sơ"; an unknown type is named."""
    person = who(actor_name, actor_role, actor_unit, names)
    narrate = SENTENCES.get(type_)
    if narrate is None:
        return f"{person}: sự kiện {type_} (phiên bản {version})"
    try:
        return narrate(person, payload, names or NO_NAMES)
    except (AttributeError, TypeError, ValueError):  # a payload of another shape than this type's usual one
        return f"{person}: sự kiện {type_} (phiên bản {version})"
