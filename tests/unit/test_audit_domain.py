"""The audit log's chain and sentences, as pure functions: no database, no bus."""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.audit.domain import (
    ANCHOR_DIFFERS,
    ANCHOR_MISSING,
    CONTENT_CHANGED,
    GAP,
    GENESIS,
    LINK_BROKEN,
    OUT_OF_ORDER,
    Anchor,
    Entry,
    Head,
    Names,
    content,
    entry_hash,
    event_values,
    reason_of,
    seal,
    sentence,
    verify,
)
from shared.clock import LOCAL_TZ

AT = datetime(2021, 12, 1, 2, 0, tzinfo=UTC)
CLERK = {"id": "clerk-1", "name": "Nguyễn Văn A", "role": "unit_clerk", "unit": "hoa-tan"}
REVIEWER = {"id": "reviewer-1", "name": "Phạm Thị D", "role": "reviewer", "unit": "van-hoa-thong-tin"}


def values(n: int, payload: dict[str, Any] | None = None, **changes: Any) -> dict[str, Any]:
    made = event_values(
        event_id=f"00000000-0000-4000-8000-{n:012d}",
        type="dossier.updated",
        version=1,
        producer="intake",
        actor=CLERK,
        campaign="chau-thanh-2021",
        unit="hoa-tan",
        subject=f"dossier-{n % 7}",
        correlation_id=f"corr-{n}",
        causation_id=None,
        occurred_at=AT + timedelta(minutes=n),
        recorded_at=AT + timedelta(minutes=n, seconds=1),
        payload=payload if payload is not None else {"changed": [f"report.field_{n}"], "note": "Hòa Tân"},
    )
    return {**made, **changes}


def chain(count: int) -> list[Entry]:
    entries, head = [], Head()
    for n in range(1, count + 1):
        entry = seal(head, **values(n))
        entries.append(entry)
        head = Head(entry.seq, entry.hash)
    return entries


def resealed(entry: Entry, **changes: Any) -> Entry:
    """``entry`` changed and given a hash that matches its new content, as a careful forger would."""
    changed = dataclasses.replace(entry, **changes)
    return dataclasses.replace(changed, hash=entry_hash(changed.prev_hash, content(changed)))


# -- hashing -------------------------------------------------------------------------------------------------------


def test_the_hash_is_canonical_the_order_of_keys_changes_nothing() -> None:
    forwards = values(1, {"a": 1, "b": {"x": "Tân", "y": [1, 2]}})
    backwards = values(1, {"b": {"y": [1, 2], "x": "Tân"}, "a": 1})

    assert forwards["payload"] == backwards["payload"] == '{"a":1,"b":{"x":"Tân","y":[1,2]}}'
    assert seal(Head(), **forwards).hash == seal(Head(), **dict(reversed(list(backwards.items())))).hash


def test_the_hash_covers_every_column_and_the_previous_hash() -> None:
    entry = seal(Head(), **values(1))
    assert entry.seq == 1 and entry.prev_hash == GENESIS
    assert len(entry.hash) == 64 and int(entry.hash, 16) >= 0
    for column in ("event_id", "type", "actor_name", "actor_role", "subject", "payload", "correlation_id", "seq"):
        changed = dataclasses.replace(entry, **{column: 2 if column == "seq" else "x"})
        assert entry_hash(changed.prev_hash, content(changed)) != entry.hash, column
    later = dataclasses.replace(entry, occurred_at=entry.occurred_at + timedelta(microseconds=1))
    assert entry_hash(later.prev_hash, content(later)) != entry.hash
    assert entry_hash("1" * 64, content(entry)) != entry.hash


def test_an_instant_is_hashed_in_utc_whatever_zone_it_was_given_in() -> None:
    in_utc = values(1)
    in_vietnam = {**in_utc, "occurred_at": in_utc["occurred_at"].astimezone(LOCAL_TZ)}
    assert seal(Head(), **in_vietnam).hash == seal(Head(), **in_utc).hash


def test_an_event_names_the_dossier_its_payload_concerns() -> None:
    assert values(1, {"dossier_id": "d-9", "round": 1})["dossier_id"] == "d-9"
    assert values(1, {"dossier_id": ["not", "an", "id"]})["dossier_id"] is None
    assert values(1)["dossier_id"] is None


# -- verification --------------------------------------------------------------------------------------------------


def test_a_long_chain_verifies_intact_with_its_count_and_head() -> None:
    entries = chain(2000)

    verdict = verify(iter(entries))

    assert verdict.intact
    assert (verdict.entries, verdict.head) == (2000, entries[-1].hash)
    assert verdict.as_dict() == {"status": "intact", "entries": 2000, "head": entries[-1].hash}


def test_an_empty_log_is_intact_with_the_genesis_head() -> None:
    assert verify([]).as_dict() == {"status": "intact", "entries": 0, "head": GENESIS}


def test_edited_content_is_found_at_its_entry() -> None:
    entries = chain(10)
    entries[6] = dataclasses.replace(entries[6], actor_name="Người khác")

    verdict = verify(entries)

    assert (verdict.intact, verdict.seq, verdict.why) == (False, 7, CONTENT_CHANGED)
    assert verdict.event_id == entries[6].event_id
    assert verdict.entries == 6 and verdict.head == entries[5].hash
    assert verdict.as_dict()["entries_checked"] == 6


def test_an_edited_hash_is_found_at_its_entry() -> None:
    entries = chain(10)
    entries[3] = dataclasses.replace(entries[3], hash="f" * 64)

    verdict = verify(entries)

    assert (verdict.seq, verdict.why) == (4, CONTENT_CHANGED)


def test_an_edit_with_a_recomputed_hash_is_found_where_the_next_entry_no_longer_links() -> None:
    entries = chain(10)
    entries[3] = resealed(entries[3], payload='{"changed":[]}')

    verdict = verify(entries)

    assert (verdict.seq, verdict.why) == (5, LINK_BROKEN)
    assert verdict.expected == {"prev_hash": entries[3].hash}


def test_a_deleted_entry_is_a_gap_at_the_entry_after_it() -> None:
    entries = chain(10)
    del entries[4]

    verdict = verify(entries)

    assert (verdict.seq, verdict.why, verdict.expected) == (6, GAP, {"seq": 5})
    assert verdict.entries == 4


def test_a_deleted_first_entry_is_a_gap_at_the_start() -> None:
    assert (verify(chain(3)[1:]).seq, verify(chain(3)[1:]).why) == (2, GAP)


def test_a_deleted_entry_whose_followers_were_renumbered_breaks_at_the_first_renumbered_one() -> None:
    entries = chain(10)
    renumbered = entries[:4] + [dataclasses.replace(e, seq=e.seq - 1) for e in entries[5:]]

    verdict = verify(renumbered)

    assert (verdict.seq, verdict.why) == (5, CONTENT_CHANGED)


def test_a_swapped_pair_is_found_at_the_first_of_the_two() -> None:
    entries = chain(10)
    # The rows keep their place (seq) but their contents trade places, as an UPDATE of both rows would do.
    first, second = entries[5], entries[6]
    entries[5] = dataclasses.replace(second, seq=first.seq)
    entries[6] = dataclasses.replace(first, seq=second.seq)

    verdict = verify(entries)

    assert verdict.seq == 6
    assert verdict.why == CONTENT_CHANGED


def test_a_swapped_pair_with_recomputed_hashes_is_found_where_the_link_breaks() -> None:
    entries = chain(10)
    first, second = entries[5], entries[6]
    entries[5] = resealed(second, seq=first.seq)
    entries[6] = resealed(first, seq=second.seq)

    verdict = verify(entries)

    assert (verdict.seq, verdict.why) == (6, LINK_BROKEN)


def test_rows_out_of_order_are_reported_as_such() -> None:
    entries = chain(5)
    entries[2], entries[3] = entries[3], entries[2]

    verdict = verify(entries)

    assert (verdict.seq, verdict.why) == (4, GAP)
    assert verify([*chain(3), chain(3)[1]]).why == OUT_OF_ORDER


def test_an_inserted_forged_entry_is_found() -> None:
    entries = chain(10)
    forged = seal(Head(entries[4].seq, entries[4].hash), **values(99, {"changed": ["report.achievements"]}))
    # The forger chains the new entry onto entry 5 correctly, and renumbers the ones after it.
    tampered = [*entries[:5], forged, *(dataclasses.replace(e, seq=e.seq + 1) for e in entries[5:])]

    verdict = verify(tampered)

    assert verdict.seq == 7, "the forged entry itself is well made; the original after it no longer fits"
    assert verdict.event_id == entries[5].event_id
    assert verdict.why == CONTENT_CHANGED


def test_a_rewritten_tail_is_caught_by_a_head_noted_earlier() -> None:
    entries = chain(10)
    noted = Anchor(entries[7].seq, entries[7].hash)
    rewritten = entries[:7]
    for n in range(8, 11):
        rewritten.append(seal(Head(rewritten[-1].seq, rewritten[-1].hash), **values(100 + n)))

    assert verify(rewritten).intact, "a chain rewritten from entry 8 on is consistent in itself"
    verdict = verify(rewritten, noted)
    assert (verdict.seq, verdict.why) == (8, ANCHOR_DIFFERS)
    assert verify(entries, noted).intact


def test_a_cut_tail_is_caught_by_a_head_noted_earlier() -> None:
    entries = chain(10)
    verdict = verify(entries[:6], Anchor(10, entries[9].hash))

    assert (verdict.intact, verdict.seq, verdict.why, verdict.entries) == (False, 10, ANCHOR_MISSING, 6)


def test_verification_reads_lazily_and_stops_at_the_break() -> None:
    entries = chain(20)
    entries[9] = dataclasses.replace(entries[9], subject="another")
    read: list[int] = []

    def rows() -> Iterator[Entry]:
        for entry in entries:
            read.append(entry.seq)
            if entry.seq > 10:
                raise AssertionError("verification read past the break")
            yield entry

    verdict = verify(rows())

    assert (verdict.seq, verdict.why) == (10, CONTENT_CHANGED)
    assert read == list(range(1, 11))


def test_verification_keeps_no_rows_it_has_checked() -> None:
    alive: weakref.WeakSet[Entry] = weakref.WeakSet()
    most_alive = 0

    def rows() -> Iterator[Entry]:
        nonlocal most_alive
        head = Head()
        for n in range(1, 3001):
            entry = seal(head, **values(n))
            head = Head(entry.seq, entry.hash)
            alive.add(entry)
            most_alive = max(most_alive, len(alive))
            yield entry
            del entry

    assert verify(rows()).entries == 3000
    assert most_alive <= 2, "only the entry being checked (and the one just before it) may be held"


# -- sentences -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "payload", "expected"),
    [
        (
            "dossier.created",
            {"kind": "collective"},
            "Nguyễn Văn A (văn thư, Hòa Tân) lập hồ sơ đề nghị khen thưởng tập thể",
        ),
        (
            "dossier.updated",
            {"changed": ["report.phone", "report.address"]},
            "Nguyễn Văn A (văn thư, Hòa Tân) sửa hồ sơ (2 mục)",
        ),
        (
            "dossier.documents_uploaded",
            {
                "documents": [
                    {"kind": "to_trinh", "version": 1, "filename": "to-trinh.pdf"},
                    {"kind": "bien_ban", "version": 2, "filename": "bien-ban.pdf"},
                ]
            },
            "Nguyễn Văn A (văn thư, Hòa Tân) tải lên Tờ trình (phiên bản 1, tệp “to-trinh.pdf”); "
            "Biên bản họp xét khen thưởng (phiên bản 2, tệp “bien-ban.pdf”)",
        ),
        ("dossier.submitted", {"round": 1}, "Nguyễn Văn A (văn thư, Hòa Tân) nộp hồ sơ"),
        ("dossier.resubmitted", {"round": 2}, "Nguyễn Văn A (văn thư, Hòa Tân) nộp lại hồ sơ đã bổ sung (lần 2)"),
        ("dossier.withdrawn", {"reason": "Sai đối tượng"}, "Nguyễn Văn A (văn thư, Hòa Tân) rút hồ sơ"),
        (
            "campaign.deadline_extended",
            {"new_date": "2021-12-10", "previous_date": "2021-12-06"},
            "Nguyễn Văn A (văn thư, Hòa Tân) gia hạn nộp hồ sơ đến ngày 10/12/2021 (hạn trước: 06/12/2021)",
        ),
    ],
)
def test_each_of_intakes_events_reads_as_a_vietnamese_sentence(type_: str, payload: dict, expected: str) -> None:
    names = Names(
        units={"hoa-tan": "Hòa Tân"}, documents={"to_trinh": "Tờ trình", "bien_ban": "Biên bản họp xét khen thưởng"}
    )
    assert sentence(type_, 1, "Nguyễn Văn A", "unit_clerk", "hoa-tan", payload, names) == expected


@pytest.mark.parametrize(
    ("type_", "payload", "expected"),
    [
        (
            "dossier.reopened",
            {"round": 1, "reasons": [{"message": "Bổ sung biên bản"}]},
            "Hồ sơ được chuyển lại cho đơn vị để bổ sung, theo ý kiến trả lại của "
            "Phạm Thị D (chuyên viên thẩm định, van-hoa-thong-tin)",
        ),
        (
            "dossier.awarded",
            {"outcome": {"prize_name": "Giải Nhất"}},
            "Hồ sơ được ghi nhận khen thưởng (Giải Nhất) theo quyết định do "
            "Phạm Thị D (chuyên viên thẩm định, van-hoa-thong-tin) ban hành",
        ),
        (
            "dossier.not_awarded",
            {"outcome": {}},
            "Hồ sơ được ghi nhận không khen thưởng theo quyết định do "
            "Phạm Thị D (chuyên viên thẩm định, van-hoa-thong-tin) ban hành",
        ),
        (
            "dossier.outcome_amended",
            {"outcome": {"prize_name": "Giải Nhì"}, "previous": {}},
            "Kết quả khen thưởng của hồ sơ được điều chỉnh (Giải Nhì) theo quyết định do "
            "Phạm Thị D (chuyên viên thẩm định, van-hoa-thong-tin) ban hành",
        ),
    ],
)
def test_intakes_records_of_other_services_decisions_name_who_decided(type_: str, payload: dict, expected: str) -> None:
    assert sentence(type_, 1, REVIEWER["name"], REVIEWER["role"], REVIEWER["unit"], payload) == expected


def test_both_versions_of_a_signed_proposal_read_and_the_second_counts_whom_it_leaves_out() -> None:
    head = ("Nguyễn Văn G", "review_head", "van-hoa-thong-tin")
    names = Names(units={"van-hoa-thong-tin": "Phòng Văn hóa – Thông tin"})
    first = sentence("proposal.submitted", 1, *head, {"dossier_ids": ["a", "b"]}, names)
    left_out = [{"dossier_id": "c", "reason": "Chưa đạt chỉ tiêu."}, {"dossier_id": "d", "reason": "Xếp hạng 4."}]
    second = sentence("proposal.submitted", 2, *head, {"dossier_ids": ["a", "b"], "not_proposed": left_out}, names)

    who = "Nguyễn Văn G (trưởng phòng thẩm định, Phòng Văn hóa – Thông tin)"
    assert first == f"{who} ký và gửi tờ trình đề nghị khen thưởng (2 hồ sơ)"
    assert second == f"{who} ký và gửi tờ trình đề nghị khen thưởng (2 hồ sơ; 2 hồ sơ không được đề nghị, có nêu lý do)"


def test_an_unknown_event_is_named_by_its_type_and_version() -> None:
    assert (
        sentence("council.vote_cast", 2, "Võ Văn E", "council_chair", None, {})
        == "Võ Văn E (Chủ tịch Hội đồng Thi đua - Khen thưởng): sự kiện council.vote_cast (phiên bản 2)"
    )


def test_a_known_type_with_an_unusual_payload_still_reads() -> None:
    text = sentence("dossier.updated", 2, "Nguyễn Văn A", "unit_clerk", None, {"changed": 5})
    assert text == "Nguyễn Văn A (văn thư): sự kiện dossier.updated (phiên bản 2)"


def test_the_reason_is_the_reason_or_the_messages_of_the_reasons() -> None:
    assert reason_of({"reason": "Sai đối tượng"}) == "Sai đối tượng"
    assert reason_of({"reason": None, "reasons": [{"message": "Thiếu biên bản"}, {"message": "Sai số liệu"}]}) == (
        "Thiếu biên bản; Sai số liệu"
    )
    assert reason_of({"reasons": ["Chưa đủ hồ sơ"]}) == "Chưa đủ hồ sơ"
    assert reason_of({"reason": "  "}) is None
    assert reason_of({}) is None
