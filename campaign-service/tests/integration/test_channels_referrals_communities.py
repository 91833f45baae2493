"""Channels, referrals and communities inside the service, with the in-process WeChat simulator."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from shared.contracts.gateway import PaymentSucceeded, Scanned, Subscribed
from shared.contracts.identity import MemberFollowed
from shared.events.outbox import OutboxMessage
from shared.testing.waiting import eventually


async def _events(c, event_type):
    async with c.runtime.session_factory() as session:
        rows = await session.scalars(select(OutboxMessage).where(OutboxMessage.type == event_type))
        return list(rows)


async def test_channel_codes_first_touch_and_stats(campaign_factory):
    async with campaign_factory(simulator=True) as c:
        created = await c.client.post(
            "/admin/v1/channels", json={"name": "地推海报", "code": "poster-1"}, headers=c.staff()
        )
        assert created.status_code == 201, created.text
        channel = created.json()
        assert channel["qr_kind"] == "permanent" and channel["qr_ticket"] and channel["qr_expires_at"] is None
        taken = await c.client.post(
            "/admin/v1/channels", json={"name": "x", "code": "poster-1"}, headers=c.staff()
        )
        assert taken.status_code == 409
        temp = await c.client.post(
            "/admin/v1/channels",
            json={
                "name": "公众号文章",
                "qr_kind": "temporary",
                "expire_seconds": 86400,
                "mp_page": "pages/index",
            },
            headers=c.staff(),
        )
        assert temp.status_code == 201 and temp.json()["qr_expires_at"] and len(temp.json()["code"]) <= 32
        png = await c.client.get(f"/admin/v1/channels/{channel['id']}/wxacode.png", headers=c.staff("viewer"))
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
        assert (
            await c.client.post("/admin/v1/channels", json={"name": "x"}, headers=c.staff("viewer"))
        ).status_code == 403

        # Gateway pushes count scans and follows; identity's follow event gives the first touch.
        now = datetime.now(UTC)
        base = {"app": "oa", "appid": c.settings.oa_appid, "to_user": "gh_x", "create_time": now}
        await c.publish(Subscribed(openid="o-1", scene="poster-1", **base), key="o-1")
        await c.publish(Scanned(openid="o-2", scene="poster-1", **base), key="o-2")
        await c.publish(Subscribed(openid="o-3", scene="unknown", **base), key="o-3")
        for no, scene in ((41001, "poster-1"), (41002, temp.json()["code"])):
            await c.publish(
                MemberFollowed(
                    member_no=no, appid=c.settings.oa_appid, openid=f"o-{no}", scene=scene, followed_at=now
                ),
                key=str(no),
            )
        # A later scene never replaces the first touch.
        await c.publish(
            MemberFollowed(
                member_no=41002,
                appid=c.settings.oa_appid,
                openid="o-41002",
                scene="poster-1",
                followed_at=now,
            ),
            key="41002",
        )

        async def stats():
            return (await c.client.get(f"/admin/v1/channels/{channel['id']}/stats", headers=c.staff())).json()

        await eventually(stats, lambda s: (s["scans"], s["follows"], s["members"]) == (1, 1, 1), timeout=60)
        touched = await eventually(
            lambda: _events(c, "campaign.channel.touched"), lambda e: len(e) == 3, timeout=30
        )
        assert sorted(e.envelope["data"]["first_touch"] for e in touched) == [False, True, True]

        # Registrations: the launch scene wins, else the member's first touch.
        period = await c.open_period(fee_fen=0)
        url = f"/mp/v1/periods/{period['id']}/registrations"
        r1 = await c.client.post(url, json={}, headers=c.member(41001))
        assert r1.status_code == 201 and r1.json()["channel_id"] == channel["id"]
        r2 = await c.client.post(url, json={"channel": "poster-1"}, headers=c.member(41003))
        assert r2.json()["channel_id"] == channel["id"]
        r3 = await c.client.post(url, json={}, headers=c.member(41002))
        assert r3.json()["channel_id"] == temp.json()["id"]
        s = await stats()
        assert (s["members"], s["launches"], s["registrations"], s["payments"]) == (2, 1, 2, 0)
        listed = (await c.client.get("/admin/v1/channels/stats", headers=c.staff())).json()["items"]
        assert {i["code"]: i["registrations"] for i in listed} == {"poster-1": 2, temp.json()["code"]: 1}


async def test_referrals_once_never_self_never_cycle(campaign_factory):
    async with campaign_factory(simulator=True) as c:
        free = await c.open_period(fee_fen=0)
        url = f"/mp/v1/periods/{free['id']}/registrations"

        async def code_of(no):
            return (await c.client.get("/mp/v1/me/invite", headers=c.member(no))).json()["code"]

        a, b, d = 42001, 42002, 42004
        code_a, code_b = await code_of(a), await code_of(b)
        mine = await c.client.post(url, json={"invite_code": code_a}, headers=c.member(a))
        assert mine.json()["referral"] == "self"
        assert (await c.client.post(url, json={"invite_code": code_a}, headers=c.member(b))).json()[
            "referral"
        ] == "credited"
        assert (await c.client.post(url, json={"invite_code": "NOTACODE12"}, headers=c.member(d))).json()[
            "referral"
        ] == "invalid"

        # b's invitee may not bring in a (a → b → c → a would be a cycle).
        second = await c.open_period(fee_fen=0)
        url2 = f"/mp/v1/periods/{second['id']}/registrations"
        cc = 42003
        assert (await c.client.post(url2, json={"invite_code": code_b}, headers=c.member(cc))).json()[
            "referral"
        ] == "credited"
        assert (
            await c.client.post(url2, json={"invite_code": await code_of(cc)}, headers=c.member(a))
        ).json()["referral"] == "cycle"
        # Once per invitee: b was brought by a already.
        assert (
            await c.client.post(url2, json={"invite_code": await code_of(d)}, headers=c.member(b))
        ).json()["referral"] == "already-referred"

        # A paid registration credits only when paid.
        paid = await c.open_period(fee_fen=500)
        e = 42005
        person = await c.person(e)
        r = await c.client.post(
            f"/mp/v1/periods/{paid['id']}/registrations", json={"invite_code": code_a}, headers=c.member(e)
        )
        assert r.json()["referral"] == "pending"
        order = r.json()["order"]
        await c.sim.post(
            f"/sim/people/{person['person_id']}/pay", json={"out_trade_no": order["out_trade_no"]}
        )
        tx = next(
            n["resource"] for n in c.notifications if n["resource"]["out_trade_no"] == order["out_trade_no"]
        )
        await c.publish(
            PaymentSucceeded(
                notification_id="n-ref",
                out_trade_no=tx["out_trade_no"],
                transaction_id=tx["transaction_id"],
                trade_state="SUCCESS",
                payer_openid=tx["payer"]["openid"],
                amount_total=tx["amount"]["total"],
            ),
            key=tx["out_trade_no"],
        )

        async def invite_a():
            return (await c.client.get("/mp/v1/me/invite", headers=c.member(a))).json()

        await eventually(invite_a, lambda i: (i["credited"], i["pending"]) == (2, 0), timeout=60)
        whom = (await c.client.get(f"/admin/v1/referrals?inviter={a}", headers=c.staff("viewer"))).json()
        assert [(x["invitee_member_no"], x["state"]) for x in whom["items"]] == [
            (b, "credited"),
            (e, "credited"),
        ]
        top = (await c.client.get("/admin/v1/referrals/inviters", headers=c.staff())).json()
        assert top[0] == {"inviter_member_no": a, "credited": 2, "pending": 0}
        credited = await _events(c, "campaign.referral.credited")
        assert sorted(x.envelope["data"]["invitee_member_no"] for x in credited) == [b, cc, e]


async def test_sightings_links_and_matrix(campaign_factory):
    async with campaign_factory(simulator=True) as c:
        p1 = await c.open_period(fee_fen=0)
        p2 = await c.series_with_period()
        people = {}
        for no in (43001, 43002, 43003):
            people[no] = await c.person(no)
            await c.client.post(f"/mp/v1/periods/{p1['id']}/registrations", json={}, headers=c.member(no))

        async def sighting(no, gid, kind="share", period_id=None):
            data = (
                await c.sim.post(
                    f"/sim/people/{people[no]['person_id']}/encrypted-data",
                    json={"kind": kind, "open_gid": gid},
                )
            ).json()
            body = {**data, "period_id": period_id} if period_id else data
            return await c.client.post("/mp/v1/group-sightings", json=body, headers=c.member(no))

        first = await sighting(43001, "G-A", period_id=p1["id"])
        assert first.status_code == 201 and first.json()["first_time"] is True
        again = await sighting(43001, "G-A")
        assert again.json()["first_time"] is False
        assert (await sighting(43002, "G-A", kind="group_enter")).json()["community_id"] == first.json()[
            "community_id"
        ]
        await sighting(43003, "G-B", period_id=p2["id"])
        bad = await c.client.post(
            "/mp/v1/group-sightings",
            json={"encrypted_data": "AAAA", "iv": "AAAAAAAAAAAAAAAAAAAAAA=="},
            headers=c.member(43001),
        )
        assert bad.status_code >= 400

        group_a = first.json()["community_id"]
        read = (await c.client.get(f"/admin/v1/communities/{group_a}", headers=c.staff())).json()
        assert (
            read["proposed_period_id"] == p1["id"] and read["period_id"] is None and read["members_seen"] == 2
        )
        accepted = await c.client.post(f"/admin/v1/communities/{group_a}/accept-proposal", headers=c.staff())
        assert accepted.json()["period_id"] == p1["id"]
        linked = [e.envelope for e in await _events(c, "campaign.community.linked")]
        assert [(e["data"]["community_id"], e["data"]["open_gid"], e["data"]["period_id"], e["data"]["series_id"])
                for e in linked] == [(group_a, "G-A", p1["id"], p1["series_id"])]
        assert linked[0]["member_no"] is None and linked[0]["data"]["occurred_at"]
        named = await c.client.patch(
            f"/admin/v1/communities/{group_a}", json={"name": "X1 A 群"}, headers=c.staff()
        )
        assert named.json()["name"] == "X1 A 群" and named.json()["period_id"] == p1["id"]

        matrix = (await c.client.get("/admin/v1/communities/matrix", headers=c.staff("viewer"))).json()
        x1 = next(p for s in matrix["series"] for p in s["periods"] if p["period_id"] == p1["id"])
        assert x1["registrants"] == 3
        assert [(g["name"], g["members_seen"], g["period_members_seen"]) for g in x1["groups"]] == [
            ("X1 A 群", 2, 2)
        ]
        assert [g["members_seen"] for g in matrix["unlinked"]] == [1]
        members = (await c.client.get(f"/admin/v1/communities/{group_a}/members", headers=c.staff())).json()
        assert [(m["member_no"], m["sightings"], m["in_period"]) for m in members["items"]] == [
            (43001, 2, True),
            (43002, 1, True),
        ]
        seen = await _events(c, "campaign.community.member_seen")
        assert len(seen) == 4 and {e.envelope["data"]["open_gid"] for e in seen} == {"G-A", "G-B"}


async def test_a_group_carries_on_from_one_period_into_the_next(campaign_factory, period_body):
    """Seed 002: group A serves X1, then carries on into X2; the matrix shows it in both with their members."""
    async with campaign_factory(simulator=True) as c:
        x1 = await c.open_period(fee_fen=0)
        created = await c.client.post(
            f"/admin/v1/series/{x1['series_id']}/periods", json=period_body(fee_fen=0), headers=c.staff()
        )
        assert created.status_code == 201, created.text
        x2 = created.json()
        opened = await c.client.post(f"/admin/v1/periods/{x2['id']}/state", json={"state": "open"},
                                     headers=c.staff())
        assert opened.status_code == 200, opened.text
        people = {no: await c.person(no) for no in (44001, 44002, 44003)}
        for no in (44001, 44002):
            await c.client.post(f"/mp/v1/periods/{x1['id']}/registrations", json={}, headers=c.member(no))
        for no in (44002, 44003):
            await c.client.post(f"/mp/v1/periods/{x2['id']}/registrations", json={}, headers=c.member(no))

        async def seen_in_group_a(no: int) -> dict:
            data = (await c.sim.post(f"/sim/people/{people[no]['person_id']}/encrypted-data",
                                     json={"kind": "share", "open_gid": "G-CARRY"})).json()
            answer = await c.client.post("/mp/v1/group-sightings", json=data, headers=c.member(no))
            assert answer.status_code == 201, answer.text
            return answer.json()

        group = (await seen_in_group_a(44001))["community_id"]
        linked = await c.client.patch(f"/admin/v1/communities/{group}", json={"name": "A 群", "period_id": x1["id"]},
                                      headers=c.staff())
        assert linked.status_code == 200 and linked.json()["period_id"] == x1["id"], linked.text
        await seen_in_group_a(44002)
        # X2 opens: the group carries on, linked to both periods now.
        carried = await c.client.post(f"/admin/v1/communities/{group}/periods", json={"period_id": x2["id"]},
                                      headers=c.staff())
        assert carried.status_code == 201, carried.text
        links = carried.json()["periods"]
        assert [(link["period_id"], link["unlinked_at"]) for link in links] == [(x1["id"], None), (x2["id"], None)]
        assert carried.json()["period_id"] == x2["id"]
        again = await c.client.post(f"/admin/v1/communities/{group}/periods", json={"period_id": x2["id"]},
                                    headers=c.staff())
        assert len(again.json()["periods"]) == 2  # linking twice changes nothing
        await seen_in_group_a(44003)

        matrix = (await c.client.get(f"/admin/v1/communities/matrix?series_id={x1['series_id']}",
                                     headers=c.staff("viewer"))).json()
        columns = {p["period_id"]: p for p in matrix["series"][0]["periods"]}
        for period, registrants_seen in ((x1["id"], 2), (x2["id"], 2)):
            assert [(g["community_id"], g["period_id"], g["members_seen"], g["period_members_seen"])
                    for g in columns[period]["groups"]] == [(group, period, 3, registrants_seen)]

        # Sightings name every period linked at that moment.
        seen = [e.envelope["data"] for e in await _events(c, "campaign.community.member_seen")]
        assert sorted((e["member_no"], e["period_ids"]) for e in seen) == [
            (44001, []), (44002, [x1["id"]]), (44003, [x2["id"], x1["id"]]),
        ]

        # Ending X1's link keeps the group in X1's column (history) but not among current links.
        ended = await c.client.delete(f"/admin/v1/communities/{group}/periods/{x1['id']}", headers=c.staff())
        assert ended.status_code == 200 and ended.json()["period_id"] == x2["id"], ended.text
        assert [link["unlinked_at"] is None for link in ended.json()["periods"]] == [False, True]
        missing = await c.client.delete(f"/admin/v1/communities/{group}/periods/{x1['id']}", headers=c.staff())
        assert missing.status_code == 404
        of_x1 = (await c.client.get(f"/admin/v1/communities?period_id={x1['id']}", headers=c.staff())).json()
        assert [g["id"] for g in of_x1["items"]] == [group]
        assert (await c.client.post(f"/admin/v1/communities/{group}/periods", json={"period_id": x2["id"]},
                                    headers=c.staff("viewer"))).status_code == 403

        # Each link and unlink is one event (linking twice and a missing unlink are none), keyed by the group.
        both = await _events(c, "campaign.community.linked") + await _events(c, "campaign.community.unlinked")
        moves = [e for e in both if e.envelope["data"]["community_id"] == group]
        moves.sort(key=lambda e: e.id)
        assert [(e.type, e.envelope["data"]["period_id"], e.envelope["data"]["open_gid"], e.key) for e in moves] == [
            ("campaign.community.linked", x1["id"], "G-CARRY", f"community-{group}"),
            ("campaign.community.linked", x2["id"], "G-CARRY", f"community-{group}"),
            ("campaign.community.unlinked", x1["id"], "G-CARRY", f"community-{group}"),
        ]
        assert {e.envelope["data"]["series_id"] for e in moves} == {x1["series_id"]}
