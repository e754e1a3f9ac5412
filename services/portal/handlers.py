"""What the portal does with its accounts: add, list, disable, sign in, and the sign-in sessions.

Each function works in the caller's database session and never commits: the caller (a page, a command) opens
the transaction and commits once, as the services' entry points do.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.portal.domain import Account, LockoutPolicy, PortalSession, password_problem, username_problem
from services.portal.models import accounts, sessions
from services.portal.passwords import hash_password, needs_rehash, verify_password
from shared.auth import ROLES, UNIT_ROLES
from shared.campaigns import Campaign


class AccountRefused(Exception):
    """An account cannot be added as asked: field → Vietnamese message, every problem at once."""

    def __init__(self, errors: Mapping[str, str]):
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))
        self.errors = dict(errors)


class SignInRefused(Exception):
    """A sign-in refused; the message never says whether the name or the password was wrong."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


WRONG_CREDENTIALS = "Tên đăng nhập hoặc mật khẩu không đúng."


@dataclass(frozen=True)
class NewAccount:
    username: str
    full_name: str
    roles: tuple[str, ...]
    unit: str | None
    person_id: str | None
    password: str | None  # None: signs in through an identity provider only


def add_account(
    session: Session, new: NewAccount, campaigns: Mapping[str, Campaign], now: datetime, password_hash: str = ""
) -> Account:
    """A new account; ``password_hash`` lets many demo accounts share one hash instead of hashing each."""
    errors = _account_problems(session, new, campaigns)
    if errors:
        raise AccountRefused(errors)
    account = Account(
        username=new.username,
        full_name=new.full_name.strip(),
        roles=tuple(sorted(set(new.roles))),
        unit=new.unit or None,
        person_id=new.person_id or new.username,
        password_hash=password_hash or (hash_password(new.password) if new.password is not None else None),
        created_at=now,
    )
    session.add(account)
    session.flush()
    return account


def _account_problems(session: Session, new: NewAccount, campaigns: Mapping[str, Campaign]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if problem := username_problem(new.username):
        errors["username"] = problem
    elif find_account(session, new.username) is not None:
        errors["username"] = f"Tên đăng nhập “{new.username}” đã có."
    if not new.full_name.strip():
        errors["full_name"] = "Vui lòng nhập họ và tên."
    unknown = set(new.roles) - set(ROLES)
    if not new.roles or unknown:
        errors["roles"] = f"Vai trò không hợp lệ; các vai trò: {', '.join(ROLES)}."
    units = {unit.code for campaign in campaigns.values() for unit in campaign.units}
    if new.unit and new.unit not in units:
        errors["unit"] = f"Không có đơn vị mã “{new.unit}”."
    elif set(new.roles) & UNIT_ROLES and not new.unit:
        errors["unit"] = "Văn thư đơn vị phải thuộc một đơn vị."
    if new.password is not None and (problem := password_problem(new.password)):
        errors["password"] = problem
    return errors


def find_account(session: Session, username: str) -> Account | None:
    return session.execute(sa.select(Account).where(accounts.c.username == username)).scalar_one_or_none()


def list_accounts(session: Session) -> list[Account]:
    return list(session.execute(sa.select(Account).order_by(accounts.c.username)).scalars())


def disable_account(session: Session, username: str) -> Account:
    """Disable an account and end every sign-in it has open, so a departed clerk is out at once."""
    account = find_account(session, username)
    if account is None:
        raise AccountRefused({"username": f"Không có tài khoản “{username}”."})
    account.disabled = True
    session.execute(sa.delete(sessions).where(sessions.c.account_id == account.id))
    return account


def sign_in(session: Session, username: str, password: str, policy: LockoutPolicy, now: datetime) -> Account:
    """Check a password; count the failures, lock the account after too many, and refuse a locked one."""
    account = find_account(session, username.strip().lower())
    matches = verify_password(account.password_hash if account else None, password)
    if account is None:
        raise SignInRefused("wrong_credentials", WRONG_CREDENTIALS)
    if account.is_locked(now):
        raise SignInRefused("account_locked", _locked_message(account, now))
    if not matches:
        account.record_failure(now, policy)
        if account.is_locked(now):
            raise SignInRefused("account_locked", _locked_message(account, now))
        raise SignInRefused("wrong_credentials", WRONG_CREDENTIALS)
    if account.disabled:  # said only to whoever knows the password
        raise SignInRefused("account_disabled", "Tài khoản đã bị vô hiệu hóa; vui lòng liên hệ quản trị viên.")
    account.record_success()
    if account.password_hash and needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
    return account


def _locked_message(account: Account, now: datetime) -> str:
    assert account.locked_until is not None
    minutes = max(1, round((account.locked_until - now).total_seconds() / 60))
    return f"Tài khoản tạm khóa do đăng nhập sai nhiều lần; vui lòng thử lại sau {minutes} phút."


def open_session(session: Session, account: Account, now: datetime, hours: float) -> tuple[str, PortalSession]:
    """A new sign-in session: the token for the browser's cookie, and the row that only knows its hash."""
    assert account.id is not None
    token = secrets.token_urlsafe(32)
    opened = PortalSession(
        token_hash=_hash(token),
        account_id=account.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    session.add(opened)
    return token, opened


def live_session(session: Session, token: str, now: datetime) -> tuple[PortalSession, Account] | None:
    """The session a cookie names and its account, if the session is live and the account still enabled."""
    found = session.get(PortalSession, _hash(token))
    if found is None or not found.is_live(now):
        return None
    account = session.get(Account, found.account_id)
    if account is None or account.disabled:
        return None
    return found, account


def close_session(session: Session, token: str) -> None:
    session.execute(sa.delete(sessions).where(sessions.c.token_hash == _hash(token)))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
