"""Follow state from wechat.inbound events, through the real broker and the consumer."""

from datetime import UTC, datetime, timedelta

import pytest

from shared.contracts import spec_of
from shared.contracts.gateway import Scanned, Subscribed, Unsubscribed
from shared.events.envelope import Envelope
from shared.kafka.producer import create_producer
from shared.kafka.topics import all_topics, ensure_topics
from shared.testing.waiting import eventually

pytestmark = pytest.mark.slow


class Pushes:
    """Publishes normalised pushes the way the gateway does (keyed by openid)."""

    def __init__(self, settings):
        self.settings = settings
        self.producer = create_producer(settings, client_id="test-gateway")
        self.clock = datetime.now(UTC).replace(microsecond=0)

    async def send(self, model, **fields):
        self.clock += timedelta(seconds=1)
        base = {
            "app": "oa",
            "appid": self.settings.oa_appid,
            "to_user": self.settings.oa_original_id,
            "create_time": self.clock,
        }
        data = model(**{**base, **fields})
        spec = spec_of(data)
        envelope = Envelope(type=spec.type, source="gateway", data=data.model_dump(mode="json"))
        await self.producer.send_and_wait(
            self.settings.topic(spec.topic), value=envelope.to_bytes(), key=fields["openid"].encode()
        )


async def test_follow_unfollow_scan_and_unionid_learning(identity_app, sim):
    async with identity_app(run_worker=True) as identity:
        settings = identity.settings
        await ensure_topics(
            settings.kafka_bootstrap_servers,
            all_topics(settings.kafka_namespace),
            partitions=settings.topic_partitions,
        )
        pushes = Pushes(settings)
        await pushes.producer.start()
        try:
            # A mini-program member with a UnionID follows from channel QR code 42.
            person = await sim.person(with_unionid=True)
            login = await identity.login(sim, person["person_id"])
            await sim.follow(person["person_id"], scene="42")
            await pushes.send(Subscribed, openid=person["oa_openid"], scene="42")

            async def follower():
                rows = await identity.sql("SELECT * FROM followers WHERE openid = :o", o=person["oa_openid"])
                return rows[0] if rows else None

            row = await eventually(follower, lambda r: r is not None, timeout=60)
            assert row.member_no == login["member_no"] and row.subscribed is True
            assert row.subscribe_scene == "42"
            followed = await identity.events("identity.member.followed")
            assert [(e["member_no"], e["data"]["scene"]) for e in followed] == [(login["member_no"], "42")]
            linked = await identity.events("identity.member.identity_linked")
            assert [e["data"]["openid"] for e in linked] == [person["oa_openid"]]
            me = await identity.client.get("/mp/v1/me", headers=identity.member(login))
            assert me.json()["follows_service_account"] is True

            await pushes.send(Scanned, openid=person["oa_openid"], scene="7")
            await eventually(follower, lambda r: r.last_scan_scene == "7")
            await pushes.send(Unsubscribed, openid=person["oa_openid"])
            row = await eventually(follower, lambda r: r.subscribed is False)
            assert row.unsubscribed_at is not None and row.subscribe_scene == "42"
            unfollowed = await identity.events("identity.member.unfollowed")
            assert [e["member_no"] for e in unfollowed] == [login["member_no"]]
            assert [e["data"]["scene"] for e in await identity.events("identity.member.followed")] == [
                "42",
                "7",
            ]

            # Someone the service account meets first, with the apps not yet bound: a new member
            # with the channel scene; when it later learns the UnionID, the openids join.
            stranger = await sim.person(with_unionid=False)
            await sim.follow(stranger["person_id"], scene="99")
            await pushes.send(Subscribed, openid=stranger["oa_openid"], scene="qrscene_99")

            async def stranger_member():
                rows = await identity.sql(
                    "SELECT m.member_no, m.channel_scene, m.unionid FROM members m "
                    "JOIN member_openids o ON o.member_no = m.member_no WHERE o.openid = :o",
                    o=stranger["oa_openid"],
                )
                return rows[0] if rows else None

            created = await eventually(stranger_member, lambda r: r is not None)
            assert created.channel_scene == "99" and created.unionid is None

            mini = await identity.login(sim, stranger["person_id"])  # no UnionID: a second member
            assert mini["member_no"] > created.member_no
            await sim.give_unionid(stranger["person_id"])
            await identity.login(sim, stranger["person_id"])  # the mini-program member learns it first
            await pushes.send(Scanned, openid=stranger["oa_openid"], scene="5")  # user/info: now with UnionID

            async def merges():
                return await identity.events("identity.member.merged")

            [merged] = await eventually(merges, lambda m: len(m) == 1)
            assert merged["data"]["from_member_no"] == mini["member_no"]
            assert merged["data"]["into_member_no"] == created.member_no
            follows = await identity.sql(
                "SELECT member_no FROM followers WHERE openid = :o", o=stranger["oa_openid"]
            )
            assert [f.member_no for f in follows] == [created.member_no]
        finally:
            await pushes.producer.stop()
