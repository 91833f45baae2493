"""Values sealed for other services: encrypted with a key every service derives from the shared secret.

An event that must carry something sensitive to another service (the full
phone number of ``identity.member.phone_bound``, for the staff roles allowed
to see it) carries it sealed, never in plain text on the topic. The key is
derived from ``QUNYUN_SECRET_KEY`` for one purpose; during a rotation the
previous secret still opens values sealed before.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.auth import derive_key

PURPOSE = "qunyun:sealed-between-services"
NONCE_BYTES = 12
PREFIX = "s1."


class Sealer:
    """AES-256-GCM with a purpose-bound key; ``context`` (e.g. "phone") binds a value to its use."""

    def __init__(self, secrets: list[bytes]) -> None:
        if not secrets:
            raise ValueError("at least one secret is needed")
        self._aeads = [AESGCM(derive_key(s, PURPOSE)) for s in secrets]

    def seal(self, plaintext: str, *, context: str) -> str:
        """``plaintext`` sealed under the current secret, as URL-safe text."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aeads[0].encrypt(nonce, plaintext.encode(), context.encode())
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, sealed: str, *, context: str) -> str | None:
        """The plaintext, or None when it is not ours (unknown format, other key, other context)."""
        if not sealed.startswith(PREFIX):
            return None
        try:
            blob = base64.urlsafe_b64decode(sealed[len(PREFIX):])
        except ValueError:
            return None
        nonce, body = blob[:NONCE_BYTES], blob[NONCE_BYTES:]
        for aead in self._aeads:
            try:
                return aead.decrypt(nonce, body, context.encode()).decode()
            except InvalidTag:
                continue
        return None
