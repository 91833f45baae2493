"""Push URL crypto for the service account and the mini-program (plain, compatible, safe mode).

Safe mode, per ``docs/wechat.md``: AES-256-CBC with ``key = b64decode(EncodingAESKey + "=")``,
``iv = key[:16]``; plaintext = 16 random bytes + 4-byte big-endian length + message + appid,
PKCS#7-padded to a multiple of 32 bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from shared.wechat.errors import WeChatCryptoError

BLOCK_SIZE = 32  # WeChat pads to 32 bytes, not to the AES block size of 16.
_RANDOM_PREFIX = 16
_LENGTH_FIELD = 4


def _sha1_sorted(*parts: str) -> str:
    # SHA-1 is what WeChat defines for push signatures; we cannot choose another.
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324


def check_signature(token: str, signature: str, timestamp: str, nonce: str) -> bool:
    """Check the ``signature`` query parameter of a push or URL check (constant time)."""
    expected = _sha1_sorted(token, timestamp, nonce)
    return hmac.compare_digest(expected.encode(), signature.encode())


def sign(token: str, timestamp: str, nonce: str) -> str:
    """The ``signature`` query parameter WeChat sends with every push."""
    return _sha1_sorted(token, timestamp, nonce)


def msg_signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """The safe-mode ``msg_signature``: sha1 over the sorted token, timestamp, nonce, Encrypt."""
    return _sha1_sorted(token, timestamp, nonce, encrypt)


def _pkcs7_pad(data: bytes) -> bytes:
    pad = BLOCK_SIZE - len(data) % BLOCK_SIZE
    return data + bytes([pad]) * pad


def _pkcs7_unpad(data: bytes) -> bytes:
    if not data:
        raise WeChatCryptoError("empty plaintext")
    pad = data[-1]
    if not 1 <= pad <= BLOCK_SIZE or len(data) < pad or data[-pad:] != bytes([pad]) * pad:
        raise WeChatCryptoError("bad padding")
    return data[:-pad]


def aes_key_from(encoding_aes_key: str) -> bytes:
    """Decode a 43-character EncodingAESKey into the 32-byte AES key."""
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("EncodingAESKey is not valid base64") from exc
    if len(key) != 32:
        raise ValueError("EncodingAESKey must decode to 32 bytes (43 characters)")
    return key


class CallbackCrypto:
    """Encrypts and decrypts safe-mode pushes and replies for one app."""

    def __init__(self, token: str, encoding_aes_key: str, appid: str) -> None:
        self.token = token
        self.appid = appid
        self._key = aes_key_from(encoding_aes_key)

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

    def decrypt(self, msg_signature: str, timestamp: str, nonce: str, encrypt_b64: str) -> bytes:
        """Verify ``msg_signature`` and return the decrypted message bytes."""
        expected = _sha1_sorted(self.token, timestamp, nonce, encrypt_b64)
        if not hmac.compare_digest(expected.encode(), msg_signature.encode()):
            raise WeChatCryptoError("msg_signature mismatch")
        return self.decrypt_unsigned(encrypt_b64)

    def decrypt_unsigned(self, encrypt_b64: str) -> bytes:
        """Decrypt an ``Encrypt`` value whose signature the caller has already checked."""
        try:
            ciphertext = base64.b64decode(encrypt_b64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise WeChatCryptoError("Encrypt is not valid base64") from exc
        if not ciphertext or len(ciphertext) % 16:
            raise WeChatCryptoError("ciphertext length is not a multiple of 16")
        decryptor = self._cipher().decryptor()
        plaintext = _pkcs7_unpad(decryptor.update(ciphertext) + decryptor.finalize())
        header = _RANDOM_PREFIX + _LENGTH_FIELD
        if len(plaintext) < header:
            raise WeChatCryptoError("plaintext too short")
        (length,) = struct.unpack(">I", plaintext[_RANDOM_PREFIX:header])
        if header + length > len(plaintext):
            raise WeChatCryptoError("declared length exceeds plaintext")
        message = plaintext[header : header + length]
        appid = plaintext[header + length :]
        if not hmac.compare_digest(appid, self.appid.encode()):
            raise WeChatCryptoError("appid in the message is not ours")
        return message

    def encrypt(self, msg: bytes, timestamp: str, nonce: str) -> tuple[str, str]:
        """Encrypt ``msg``; return ``(Encrypt base64, msg_signature)``."""
        plaintext = os.urandom(_RANDOM_PREFIX) + struct.pack(">I", len(msg)) + msg + self.appid.encode()
        encryptor = self._cipher().encryptor()
        ciphertext = encryptor.update(_pkcs7_pad(plaintext)) + encryptor.finalize()
        encrypt_b64 = base64.b64encode(ciphertext).decode()
        return encrypt_b64, msg_signature(self.token, timestamp, nonce, encrypt_b64)

    def encrypt_reply_xml(self, reply_xml: str, timestamp: str, nonce: str) -> str:
        """Wrap a passive reply in the encrypted reply envelope WeChat expects in safe mode."""
        if not timestamp.isdigit():
            raise ValueError("timestamp must be digits")
        encrypt_b64, signature = self.encrypt(reply_xml.encode(), timestamp, nonce)
        return (
            f"<xml><Encrypt><![CDATA[{encrypt_b64}]]></Encrypt>"
            f"<MsgSignature><![CDATA[{signature}]]></MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp>"
            f"<Nonce><![CDATA[{_cdata_safe(nonce)}]]></Nonce></xml>"
        )


def _cdata_safe(value: str) -> str:
    # The nonce comes from the query string: keep it from closing the CDATA section.
    return value.replace("]]>", "]]]]><![CDATA[>")
