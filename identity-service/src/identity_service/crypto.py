"""Field encryption at rest (session keys, phones) and keyed lookup hashes.

Keys are derived from ``QUNYUN_SECRET_KEY`` per purpose, so a leaked database
alone reveals nothing. During key rotation the previous secret still
decrypts and still matches lookups; new values always use the current key,
and ``python -m identity_service.cli rekey`` rewrites the old ones so the
previous secret can be retired.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.auth import derive_key

ENCRYPTION_PURPOSE = "identity:field-encryption"
LOOKUP_PURPOSE = "identity:lookup-hash"
# First byte of every ciphertext, so the format can change later.
FORMAT_V1 = b"\x01"
NONCE_BYTES = 12


class FieldCipher:
    """AES-256-GCM for columns, HMAC-SHA256 for searchable hashes."""

    def __init__(self, secrets: list[bytes]) -> None:
        if not secrets:
            raise ValueError("at least one secret is needed")
        self._aeads = [AESGCM(derive_key(s, ENCRYPTION_PURPOSE)) for s in secrets]
        self._mac_keys = [derive_key(s, LOOKUP_PURPOSE) for s in secrets]

    def encrypt(self, plaintext: str, *, context: str) -> bytes:
        """Encrypt ``plaintext``; ``context`` (e.g. "phone") binds it to its column."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aeads[0].encrypt(nonce, plaintext.encode(), context.encode())
        return FORMAT_V1 + nonce + sealed

    def decrypt(self, blob: bytes, *, context: str) -> str:
        """Decrypt a value written by :meth:`encrypt` with the current or previous key."""
        return self._open(blob, context=context)[0]

    def reencrypt(self, blob: bytes, *, context: str) -> bytes | None:
        """``blob`` encrypted under the current key, or None when it already is."""
        plaintext, key_index = self._open(blob, context=context)
        return None if key_index == 0 else self.encrypt(plaintext, context=context)

    def _open(self, blob: bytes, *, context: str) -> tuple[str, int]:
        if blob[:1] != FORMAT_V1:
            raise ValueError("unknown ciphertext format")
        nonce, sealed = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
        for index, aead in enumerate(self._aeads):
            try:
                return aead.decrypt(nonce, sealed, context.encode()).decode(), index
            except InvalidTag:
                continue
        raise ValueError("ciphertext does not decrypt with any known key")

    def lookup_hash(self, value: str, *, context: str) -> bytes:
        """The keyed hash stored beside an encrypted value (current key)."""
        return self.lookup_hashes(value, context=context)[0]

    def lookup_hashes(self, value: str, *, context: str) -> list[bytes]:
        """Hashes under every known key: search with all of them during rotation."""
        message = f"{context}:{value}".encode()
        return [hmac.new(key, message, hashlib.sha256).digest() for key in self._mac_keys]


def token_digest(token: str) -> bytes:
    """Digest of a random opaque token (its entropy makes a plain hash enough)."""
    return hashlib.sha256(token.encode()).digest()
