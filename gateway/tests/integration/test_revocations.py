"""The gateway refuses tokens issued before an identity.access.revoked event."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from shared.auth import MemberPrincipal, StaffPrincipal, TokenCodec
from shared.contracts.identity import AccessRevoked
from shared.events.envelope import Envelope
from shared.testing.waiting import eventually


async def test_revoked_staff_and_member_sessions_are_refused(gateway, infra, kafka_namespace):
    codec = TokenCodec(gateway.settings)
    old_staff = codec.issue_staff(StaffPrincipal(7, "ops", frozenset({"operator"})))
    other_staff = codec.issue_staff(StaffPrincipal(8, "ops2", frozenset({"operator"})))
    old_member = codec.issue_member(10001, session_id="sess-1")
    await asyncio.sleep(0.01)
    revoked_at = datetime.now(UTC)
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap)
    await producer.start()
    try:
        for data, member_no in (
            (AccessRevoked(kind="staff", subject="7", revoked_at=revoked_at, reason="disabled"), None),
            (AccessRevoked(kind="member_session", subject="sess-1", revoked_at=revoked_at,
                           reason="refresh-token-reuse", member_no=10001), 10001),
        ):
            envelope = Envelope(type="identity.access.revoked", source="identity", member_no=member_no,
                                data=data.model_dump(mode="json"))
            await producer.send_and_wait(f"{kafka_namespace}identity.events", envelope.to_bytes())
    finally:
        await producer.stop()

    revocations = gateway.app.state.runtime.extras["revocations"]

    async def known() -> int:
        return len(revocations.cutoffs)

    await eventually(known, lambda n: n == 2, timeout=60)
    await asyncio.sleep(0.01)
    fresh_staff = codec.issue_staff(StaffPrincipal(7, "ops", frozenset({"viewer"})))

    async def status(path: str, token: str) -> tuple[int, str]:
        response = await gateway.client.get(path, headers={"authorization": f"Bearer {token}"})
        return response.status_code, response.text

    code, body = await status("/admin/v1/metrics/overview", old_staff)
    assert code == 401 and "access-revoked" in body
    code, body = await status("/mp/v1/me", old_member)
    assert code == 401 and "access-revoked" in body
    # Tokens issued after the revocation, and other subjects, pass the gateway's
    # checks (the upstream service is not running here, hence 503).
    for token, path in ((fresh_staff, "/admin/v1/metrics/overview"), (other_staff, "/admin/v1/metrics/overview"),
                        (codec.issue_member(10001, session_id="sess-2"), "/mp/v1/me")):
        code, body = await status(path, token)
        assert code != 401, body
    assert MemberPrincipal(10001, "sess-1") == codec.verify_member(old_member)  # the token itself is still valid
