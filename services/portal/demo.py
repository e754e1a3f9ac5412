"""Demo accounts for ``thidua run``: one person in every role and every unit of a campaign, one known password.

Only the embedded run makes them (never ``thidua serve``), so a production portal has exactly the accounts its
operators add with ``thidua users add``. The password is in the README on purpose: this is a machine to try.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from services.portal.handlers import NewAccount, add_account, find_account
from services.portal.passwords import hash_password
from services.portal.runtime import PortalRuntime
from shared.campaigns import Campaign

DEMO_PASSWORD = "thidua-2021"
REVIEW_UNIT = "van-hoa-thong-tin"  # Culture & Information, who review
HOME_AFFAIRS_UNIT = "noi-vu"
# The council's chair and its secretary by their seat on the roster: the chair presides; the standing
# vice-chair heads Home Affairs, the council's standing body, and keeps its record.
CHAIR_POSITION = "Chủ tịch Hội đồng"
SECRETARY_POSITION = "Phó Chủ tịch Thường trực"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    full_name: str
    roles: tuple[str, ...]
    unit: str | None = None
    person_id: str | None = None


def demo_accounts(campaign: Campaign) -> list[DemoAccount]:
    people = [
        DemoAccount(f"vanthu.{unit.code}", f"Văn thư {unit.name}", ("unit_clerk",), unit.code)
        for unit in campaign.units
    ]
    people += [
        DemoAccount("chuyenvien1.vhtt", "Phạm Thị Dung", ("reviewer",), REVIEW_UNIT),
        DemoAccount("chuyenvien2.vhtt", "Võ Minh Em", ("reviewer",), REVIEW_UNIT),
        DemoAccount("truongphong.vhtt", "Lê Văn Giàu", ("review_head",), REVIEW_UNIT),
        DemoAccount("noivu", "Trần Thị Hạnh", ("home_affairs",), HOME_AFFAIRS_UNIT),
        DemoAccount("kiemtra", "Trần Văn Bình", ("auditor",)),
        DemoAccount("quantri", "Quản trị hệ thống", ("admin",)),
    ]
    for member in campaign.council.members:
        roles = ["council_member"]
        if member.position == CHAIR_POSITION:
            roles.append("council_chair")
        if member.position == SECRETARY_POSITION:
            roles.append("council_secretary")
        people.append(DemoAccount(member.id, member.name, tuple(roles), member.unit, member.id))
    return people


def ensure_demo_accounts(portal: PortalRuntime, campaign_code: str) -> list[DemoAccount]:
    """Add the demo accounts that are missing (all of them the first time); return every demo account."""
    campaign = portal.campaigns[campaign_code]
    people = demo_accounts(campaign)
    with portal.transaction() as session:
        missing = [person for person in people if find_account(session, person.username) is None]
        if missing:
            _add(session, missing, portal.campaigns, portal)
    return people


def _add(session: Session, people: list[DemoAccount], campaigns: Mapping[str, Campaign], portal: PortalRuntime) -> None:
    shared_hash = hash_password(DEMO_PASSWORD)  # one hash for all: argon2 is slow on purpose, per password
    for person in people:
        new = NewAccount(person.username, person.full_name, person.roles, person.unit, person.person_id, None)
        add_account(session, new, campaigns, portal.clock.now(), password_hash=shared_hash)
