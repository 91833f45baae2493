"""Field encryption and lookup hashes."""

import pytest

from identity_service.crypto import FieldCipher, token_digest


def test_round_trip_and_fresh_nonces():
    cipher = FieldCipher([b"k" * 40])
    a = cipher.encrypt("+8613800138000", context="phone")
    b = cipher.encrypt("+8613800138000", context="phone")
    assert a != b  # random nonce: equal plaintexts do not show
    assert cipher.decrypt(a, context="phone") == "+8613800138000"
    assert b"13800138000" not in a


def test_context_binds_ciphertext_to_its_column():
    cipher = FieldCipher([b"k" * 40])
    blob = cipher.encrypt("secret", context="session_key")
    with pytest.raises(ValueError):
        cipher.decrypt(blob, context="phone")


def test_previous_key_still_decrypts_and_matches_during_rotation():
    old = FieldCipher([b"old" * 12])
    rotated = FieldCipher([b"new" * 12, b"old" * 12])
    blob = old.encrypt("v", context="phone")
    assert rotated.decrypt(blob, context="phone") == "v"
    assert old.lookup_hash("v", context="phone") in rotated.lookup_hashes("v", context="phone")
    assert rotated.lookup_hash("v", context="phone") != old.lookup_hash("v", context="phone")


def test_reencrypt_moves_old_values_to_the_current_key_only():
    old = FieldCipher([b"old" * 12])
    rotated = FieldCipher([b"new" * 12, b"old" * 12])
    current_only = FieldCipher([b"new" * 12])
    moved = rotated.reencrypt(old.encrypt("v", context="phone"), context="phone")
    assert moved is not None and current_only.decrypt(moved, context="phone") == "v"
    assert rotated.reencrypt(moved, context="phone") is None  # already current: left alone
    with pytest.raises(ValueError):
        current_only.reencrypt(old.encrypt("v", context="phone"), context="phone")


def test_wrong_key_and_bad_format_fail():
    blob = FieldCipher([b"a" * 40]).encrypt("v", context="phone")
    with pytest.raises(ValueError):
        FieldCipher([b"b" * 40]).decrypt(blob, context="phone")
    with pytest.raises(ValueError):
        FieldCipher([b"a" * 40]).decrypt(b"\x02" + blob[1:], context="phone")


def test_lookup_hash_is_keyed_and_deterministic():
    one, two = FieldCipher([b"a" * 40]), FieldCipher([b"b" * 40])
    assert one.lookup_hash("x", context="phone") == one.lookup_hash("x", context="phone")
    assert one.lookup_hash("x", context="phone") != two.lookup_hash("x", context="phone")
    assert one.lookup_hash("x", context="phone") != one.lookup_hash("x", context="other")


def test_token_digest():
    assert token_digest("abc") == token_digest("abc")
    assert len(token_digest("abc")) == 32
