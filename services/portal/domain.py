"""The portal's people: accounts, the lock-out rule, and who an account acts as. Plain Python, no I/O.

An account is a person who signs in to the portal; the portal acts on the services' APIs as that person, with
the roles and unit the account carries. Council members' ``person_id`` is their seat on the campaign's council
roster, since that is the id the awards service counts votes by.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}[a-z0-9]$")
MIN_PASSWORD_LENGTH = 10


@dataclass(frozen=True)
class LockoutPolicy:
    """``attempts`` failures in a row lock the account for ``minutes``; a success starts the count again."""

    attempts: int
    minutes: float


@dataclass
class Account:
    username: str
    full_name: str
    roles: tuple[str, ...]
    unit: str | None
    person_id: str
    password_hash: str | None  # None: the account signs in through an identity provider, never by password
    created_at: datetime
    failed_attempts: int = 0
    locked_until: datetime | None = None
    disabled: bool = False
    id: int | None = field(default=None)

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until

    def record_failure(self, now: datetime, policy: LockoutPolicy) -> None:
        """Count a wrong password; the last allowed one locks the account and starts the count again."""
        self.failed_attempts += 1
        if self.failed_attempts >= policy.attempts:
            self.locked_until = now + timedelta(minutes=policy.minutes)
            self.failed_attempts = 0

    def record_success(self) -> None:
        self.failed_attempts = 0
        self.locked_until = None


@dataclass
class PortalSession:
    """A sign-in: the browser holds a random token, the database only its hash, so a leaked table opens nothing."""

    token_hash: str
    account_id: int
    csrf_token: str
    created_at: datetime
    expires_at: datetime

    def is_live(self, now: datetime) -> bool:
        return now < self.expires_at


def username_problem(username: str) -> str | None:
    """Why a username cannot be used, in Vietnamese; None when it can."""
    if not USERNAME.match(username):
        return "Tên đăng nhập gồm 3–64 ký tự: chữ thường không dấu, số, dấu chấm, gạch ngang hoặc gạch dưới."
    return None


def password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Mật khẩu phải có ít nhất {MIN_PASSWORD_LENGTH} ký tự."
    return None
