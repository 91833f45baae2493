"""Invite codes: deterministic per member, verifiable without a lookup.

A code is the member number in base 36 followed by a 6-character MAC under a
key derived from the service secret, so codes cannot be guessed from member
numbers, need no table, and codes made under the previous secret keep working
during a rotation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from shared.auth import derive_key

MAC_CHARS = 6
_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def invite_keys(secrets: list[bytes]) -> list[bytes]:
    """Code keys from the service secrets (current first)."""
    return [derive_key(secret, "campaign:invite") for secret in secrets]


def _base36(number: int) -> str:
    out = ""
    while True:
        number, digit = divmod(number, 36)
        out = _DIGITS[digit] + out
        if number == 0:
            return out


def _mac(key: bytes, member_no: int) -> str:
    digest = hmac.new(key, str(member_no).encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode()[:MAC_CHARS]


def invite_code(member_no: int, key: bytes) -> str:
    """The member's invite code."""
    if member_no < 0:
        raise ValueError("member numbers are not negative")
    return _base36(member_no) + _mac(key, member_no)


def inviter_of(code: str, keys: list[bytes]) -> int | None:
    """The member number a code belongs to, or None when it is not a code of ours."""
    code = code.strip().upper()
    if len(code) <= MAC_CHARS or len(code) > 20:
        return None
    head, mac = code[:-MAC_CHARS], code[-MAC_CHARS:]
    if any(c not in _DIGITS for c in head):
        return None
    member_no = int(head, 36)
    if any(hmac.compare_digest(mac, _mac(key, member_no)) for key in keys):
        return member_no
    return None
