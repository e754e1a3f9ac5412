"""Password hashes: argon2id (RFC 9106), with its parameters in the hash so they can be raised later."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Verified against when the username is unknown, so a wrong name takes as long as a wrong password.
_hasher = PasswordHasher()
_DECOY = _hasher.hash("decoy password that no account has")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DECOY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's, so a sign-in can renew it."""
    return _hasher.check_needs_rehash(password_hash)
