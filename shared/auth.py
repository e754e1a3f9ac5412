"""Who may do what: signed bearer tokens carrying a person, their roles and their unit.

Tokens are JWTs signed with HS256 and the settings' key. Their times are judged by the injected clock, not the
wall clock, so a campaign replayed on its own dates (``THIDUA_NOW``) accepts the tokens issued in it. An
OpenID Connect provider can replace :class:`TokenAuthority` later: routes only see a :class:`Principal`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache, wraps
from pathlib import Path
from typing import Any, TypeVar, cast

import jwt
from flask import current_app, g, request

from shared.clock import Clock
from shared.events import Actor
from shared.problems import Problem

ROLES = (
    "unit_clerk",
    "reviewer",
    "review_head",
    "home_affairs",
    "council_member",
    "council_secretary",
    "council_chair",
    "auditor",
    "admin",
)
UNIT_ROLES = frozenset({"unit_clerk"})  # roles that mean nothing without a unit
ISSUER = "thidua"

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Principal:
    id: str
    name: str
    roles: frozenset[str]
    unit: str | None = None

    def has_any(self, roles: Iterable[str]) -> bool:
        return not self.roles.isdisjoint(roles)

    def actor(self, allowed: Iterable[str]) -> Actor:
        """The actor of an action: this person in the first of their roles the action allows."""
        allowed = tuple(allowed)
        role = next((r for r in allowed if r in self.roles), None) or sorted(self.roles)[0]
        return Actor(id=self.id, name=self.name, role=role, unit=self.unit)


class TokenAuthority:
    def __init__(self, key: str, clock: Clock, hours: float = 12.0):
        if len(key) < 32:
            raise ValueError("the signing key must be at least 32 characters")
        self._key = key
        self.clock = clock
        self.hours = hours
        # A clerk sends the same token with every request for hours: its signature is checked once, its expiry on
        # every use. Only tokens that verified are kept (a refusal raises, and lru_cache keeps no exceptions).
        self._verified = lru_cache(maxsize=4096)(self._decode)

    def issue(self, principal: Principal, hours: float | None = None) -> str:
        if hours is not None and hours <= 0:
            raise ValueError("a token must be valid for a positive number of hours")
        bad = principal.roles - set(ROLES)
        if bad or not principal.roles:
            raise ValueError(f"unknown roles: {', '.join(sorted(bad)) or 'none given'}")
        if principal.roles & UNIT_ROLES and not principal.unit:
            raise ValueError("a unit clerk needs a unit")
        now = self.clock.now()
        claims = {
            "iss": ISSUER,
            "sub": principal.id,
            "name": principal.name,
            "roles": sorted(principal.roles),
            "unit": principal.unit,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(hours=self.hours if hours is None else hours)).timestamp()),
        }
        return jwt.encode(claims, self._key, algorithm="HS256")

    def verify(self, token: str) -> Principal:
        principal, expires = self._verified(token)
        if expires < self.clock.now().timestamp():
            raise Problem(401, "token_expired", "Mã truy cập đã hết hạn, vui lòng đăng nhập lại.")
        return principal

    def _decode(self, token: str) -> tuple[Principal, float]:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=["HS256"],
                issuer=ISSUER,
                options={"verify_exp": False, "verify_iat": False, "require": ["sub", "exp", "roles"]},
            )
        except jwt.InvalidTokenError as err:
            raise Problem(401, "invalid_token", "Mã truy cập không hợp lệ.", debug=str(err)) from None
        principal = Principal(
            id=claims["sub"],
            name=claims.get("name") or claims["sub"],
            roles=frozenset(claims["roles"]),
            unit=claims.get("unit"),
        )
        return principal, claims["exp"]


def data_dir_key(data_dir: Path) -> str:
    """The embedded system's own signing key, made once and kept in its data folder."""
    path = data_dir / "secret.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip()


def requires(*roles: str) -> Callable[[F], F]:
    """State the roles a route allows; the caller must present a valid token with one of them."""
    unknown = set(roles) - set(ROLES)
    if not roles:
        raise ValueError("a route must allow at least one role")
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            principal = authenticate()
            if not principal.has_any(roles):
                raise Problem(
                    403,
                    "forbidden_role",
                    "Vai trò của bạn không được phép thực hiện thao tác này.",
                    debug=f"needs one of {', '.join(roles)}",
                )
            g.actor = principal.actor(roles)
            return view(*args, **kwargs)

        guarded.required_roles = roles  # type: ignore[attr-defined]
        return cast(F, guarded)

    return decorate


def authenticate() -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(401, "missing_token", "Vui lòng đăng nhập: thiếu mã truy cập (Bearer token).")
    authority: TokenAuthority = current_app.extensions["thidua.tokens"]
    principal = authority.verify(token.strip())
    g.principal = principal
    return principal
