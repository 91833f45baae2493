"""Outbox → broker → inbox, exactly once, through real PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import func, select

from metrics_service.overview import repository
from metrics_service.overview.models import DailyCounter, MemberFact
from shared.contracts.identity import MemberCreated, MemberFollowed
from shared.db import unit_of_work
from shared.events.envelope import Envelope
from shared.events.outbox import OutboxMessage, emit
from shared.kafka.consumer import ConsumerSpec, EventConsumer
from shared.kafka.producer import create_producer
from shared.testing.waiting import eventually


async def _members_known(pair) -> int:
    async with pair.consumer.session_factory() as session:
        return int(await session.scalar(select(func.count()).select_from(MemberFact)) or 0)


async def test_event_reaches_other_service_exactly_once_and_rollback_emits_nothing(service_pair):
    async with service_pair() as pair:
        async with unit_of_work(pair.producer.session_factory) as session:
            await emit(session, MemberCreated(member_no=10001, app="mp", appid="wxmp", openid="o1"), member_no=10001)
        with pytest.raises(RuntimeError):
            async with unit_of_work(pair.producer.session_factory) as session:
                await emit(session, MemberCreated(member_no=10002, app="mp", appid="wxmp", openid="o2"),
                           member_no=10002)
                raise RuntimeError("business rule failed after the emit")
        pair.producer.relay.wake()
        await eventually(lambda: _members_known(pair), lambda n: n >= 1)
        # Give a would-be duplicate or the rolled-back event time to show up.
        await asyncio.sleep(2)
        async with pair.consumer.session_factory() as session:
            facts = (await session.scalars(select(MemberFact))).all()
        assert [f.member_no for f in facts] == [10001]
        async with pair.producer.session_factory() as session:
            rows = (await session.scalars(select(OutboxMessage))).all()
        assert [r.key for r in rows] == ["10001"] and rows[0].published_at is not None


async def test_duplicate_delivery_has_one_effect(service_pair, infra, kafka_namespace):
    async with service_pair() as pair:
        envelope = Envelope(
            type="identity.member.followed", source="identity", member_no=10007,
            data=MemberFollowed(member_no=10007, appid="wxoa", openid="o7",
                                followed_at=datetime.now(UTC)).model_dump(mode="json"),
        )
        producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap, acks="all")
        await producer.start()
        try:
            for _ in range(3):
                await producer.send_and_wait(f"{kafka_namespace}identity.events", envelope.to_bytes(), key=b"10007")
        finally:
            await producer.stop()
        await eventually(pair.follows_counted, lambda n: n >= 1)
        await asyncio.sleep(2)
        assert await pair.follows_counted() == 1


@pytest.mark.slow
async def test_broker_outage_loses_nothing_and_keeps_member_order(service_pair, infra):
    broker = infra.start_broker()
    members, per_member = 10, 30
    async with service_pair(kafka_bootstrap_servers=broker.bootstrap) as pair:
        seen: dict[int, list[int]] = {}

        async def record(session, envelope):
            seen.setdefault(envelope.member_no, []).append(int(envelope.data["scene"]))

        recorder = EventConsumer(
            service="test", spec=ConsumerSpec(name="order", topics=["identity.events"],
                                              handlers={"identity.member.followed": record}),
            settings=pair.consumer_settings, session_factory=pair.consumer.session_factory,
            dlq_producer=create_producer(pair.consumer_settings, client_id="test-dlq"),
        )
        stop = asyncio.Event()
        recorder_task = asyncio.create_task(recorder.run(stop))
        # A first event proves the path works before the outage.
        await pair.emit_follow(20000, 0)
        await eventually(pair.follows_counted, lambda n: n == 1)

        broker.pause()
        try:
            started = time.monotonic()
            slowest = 0.0
            seq = 0
            while time.monotonic() - started < 20:
                for member in range(members):
                    if seq < per_member:
                        t0 = time.monotonic()
                        await pair.emit_follow(10001 + member, seq)
                        slowest = max(slowest, time.monotonic() - t0)
                seq += 1
                await asyncio.sleep(0.5)
        finally:
            broker.resume()
        written = members * min(seq, per_member)
        assert slowest < 1.0, f"a write waited {slowest:.2f}s on the paused broker"

        # Exactly once and in member order: the recorder sees every event once. Metrics counts a
        # member's follow once (a repeated follow while following is no new follow).
        await eventually(lambda: _len_async(seen), lambda n: n == written + 1, timeout=120)
        await eventually(pair.follows_counted, lambda n: n == members + 1, timeout=60)
        stop.set()
        await asyncio.wait_for(recorder_task, 30)
        for member in range(members):
            assert seen[10001 + member] == list(range(min(seq, per_member))), f"member {10001 + member} out of order"
        await asyncio.sleep(1)
        assert await pair.follows_counted() == members + 1
        assert await _len_async(seen) == written + 1


async def _len_async(seen: dict[int, list[int]]) -> int:
    return sum(len(v) for v in seen.values())


async def test_poison_event_goes_to_dlq_without_blocking_its_partition(service_pair, infra, kafka_namespace):
    async with service_pair() as pair:

        async def handler(session, envelope):
            if envelope.data.get("scene") == "poison":
                raise ValueError("this event can never be applied")
            # A transactional effect: rolled back with a failed batch, counted once.
            await repository.increment(session, day=date(2026, 1, 1), kind=f"seq-{envelope.data['scene']}")

        dlq_producer = create_producer(pair.consumer_settings, client_id="test-dlq")
        await dlq_producer.start()
        consumer = EventConsumer(
            service="test",
            spec=ConsumerSpec(name="poison", topics=["identity.events"],
                              handlers={"identity.member.followed": handler}, max_attempts=3),
            settings=pair.consumer_settings, session_factory=pair.consumer.session_factory,
            dlq_producer=dlq_producer,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(consumer.run(stop))
        # Same member → same partition: the poison event sits between two good ones.
        await pair.emit_follow(10042, 1)
        async with unit_of_work(pair.producer.session_factory) as session:
            await emit(session, MemberFollowed(member_no=10042, appid="wxoa", openid="o", scene="poison",
                                               followed_at=datetime.now(UTC)), member_no=10042)
        await pair.emit_follow(10042, 2)

        async def sequence_counters() -> dict[str, int]:
            async with pair.consumer.session_factory() as session:
                rows = await session.scalars(select(DailyCounter).where(DailyCounter.kind.like("seq-%")))
                return {row.kind: row.value for row in rows}

        await eventually(sequence_counters, lambda got: got == {"seq-1": 1, "seq-2": 1}, timeout=60)

        dlq = AIOKafkaConsumer(
            f"{kafka_namespace}identity.events.dlq", bootstrap_servers=infra.bootstrap,
            auto_offset_reset="earliest", group_id=None,
        )
        await dlq.start()
        try:
            record = await asyncio.wait_for(dlq.getone(), 30)
        finally:
            await dlq.stop()
        parked = Envelope.from_bytes(record.value)
        headers = dict(record.headers)
        assert parked.data["scene"] == "poison"
        assert b"never be applied" in headers["dlq-error"]
        stop.set()
        await asyncio.wait_for(task, 30)
        await dlq_producer.stop()
