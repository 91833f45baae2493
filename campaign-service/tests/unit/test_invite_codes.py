"""Invite codes: deterministic, verifiable, not guessable from the member number."""

from campaign_service.referrals.codes import invite_code, invite_keys, inviter_of


def test_round_trip_and_rotation():
    current, previous = invite_keys([b"new-secret" * 4, b"old-secret" * 4])
    code = invite_code(10001, current)
    assert code == invite_code(10001, current)  # deterministic
    assert inviter_of(code, [current]) == 10001
    assert inviter_of(code.lower(), [current]) == 10001
    old = invite_code(10001, previous)
    assert inviter_of(old, [current, previous]) == 10001  # codes survive a key rotation
    assert inviter_of(old, [current]) is None


def test_forged_and_malformed_codes():
    (key,) = invite_keys([b"s" * 40])
    code = invite_code(10002, key)
    forged = invite_code(10003, key)[:-6] + code[-6:]
    assert inviter_of(forged, [key]) is None
    for bad in ("", "ABC", "!!!!!!!!", "Z" * 30, code[:-1]):
        assert inviter_of(bad, [key]) is None
