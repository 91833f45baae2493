"""argon2 password hashing."""

from identity_service.staff.passwords import hash_password, needs_rehash, verify_password


async def test_hash_and_verify():
    hashed = await hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert await verify_password(hashed, "correct horse battery")
    assert not await verify_password(hashed, "wrong")
    assert not await verify_password(None, "anything")
    assert not await verify_password("not-a-hash", "anything")
    assert not needs_rehash(hashed)
