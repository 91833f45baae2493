"""argon2id password hashing, run off the event loop (it is deliberately slow)."""

from __future__ import annotations

import asyncio
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()


@cache
def _dummy_hash() -> str:
    # Verified against when the username does not exist, so both paths cost the same.
    return _HASHER.hash("qunyun-dummy-password")


def hash_password_sync(password: str) -> str:
    """argon2id hash of ``password`` (blocking)."""
    return _HASHER.hash(password)


async def hash_password(password: str) -> str:
    """argon2id hash of ``password``."""
    return await asyncio.to_thread(_HASHER.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; with no hash, spend the same time and say no."""

    def check() -> bool:
        try:
            return _HASHER.verify(password_hash or _dummy_hash(), password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash uses weaker parameters than today's."""
    return _HASHER.check_needs_rehash(password_hash)
