"""Identity resolution across apps: linking by UnionID, and merging two members into the older one."""


async def _resolve_oa(identity, openid):
    response = await identity.client.post(
        "/internal/members/resolve-openid",
        json={"app": "oa", "appid": identity.settings.oa_appid, "openid": openid},
        headers=identity.service("messaging"),
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_openids_of_one_person_link_through_the_unionid(identity, sim):
    person = await sim.person(with_unionid=True)
    login = await identity.login(sim, person["person_id"])
    await sim.follow(person["person_id"])  # user/info answers only for followers
    resolved = await _resolve_oa(identity, person["oa_openid"])
    assert resolved["member_no"] == login["member_no"] and resolved["created"] is False
    assert {o["app"] for o in resolved["openids"]} == {"mp", "oa"}
    linked = await identity.events("identity.member.identity_linked")
    assert [e["data"]["openid"] for e in linked] == [person["oa_openid"]]
    assert len(await identity.events("identity.member.created")) == 1

    by_openid = await identity.client.get(
        f"/internal/members/by-openid/{person['oa_openid']}", headers=identity.service()
    )
    assert by_openid.json()["member_no"] == login["member_no"]


async def test_two_members_of_one_person_merge_into_the_older_number(identity, sim):
    person = await sim.person(with_unionid=False)
    older = await identity.login(sim, person["person_id"])  # mini-program, no UnionID yet
    await identity.client.post(
        "/mp/v1/me/phone",
        json={"code": await sim.phone_code(person["person_id"], "13300133000")},
        headers=identity.member(older),
    )
    # The apps get bound to the Open Platform; the service account meets the person first.
    unionid = (await sim.give_unionid(person["person_id"]))["unionid"]
    await sim.follow(person["person_id"])
    newer = await _resolve_oa(identity, person["oa_openid"])
    assert newer["created"] is True and newer["member_no"] > older["member_no"]
    assert newer["unionid"] == unionid

    # The next mini-program login returns the UnionID that the newer member holds: one person, merge.
    relogin = await identity.login(sim, person["person_id"])
    assert relogin["member_no"] == older["member_no"]
    # Later logins take the one-statement path of known members, still the survivor.
    assert (await identity.login(sim, person["person_id"]))["member_no"] == older["member_no"]

    [merged] = await identity.events("identity.member.merged")
    assert merged["data"] == {
        "from_member_no": newer["member_no"],
        "into_member_no": older["member_no"],
        "reason": "unionid",
    }
    assert merged["member_no"] == older["member_no"]

    # The retired number answers with the survivor, which has everything.
    retired = await identity.client.get(f"/internal/members/{newer['member_no']}", headers=identity.service())
    body = retired.json()
    assert body["member_no"] == older["member_no"] and body["merged"] is True
    assert body["requested_member_no"] == newer["member_no"]
    assert {o["openid"] for o in body["openids"]} == {person["mp_openid"], person["oa_openid"]}
    assert body["unionid"] and body["phone_bound"] is True

    detail = await identity.client.get(
        f"/admin/v1/members/{newer['member_no']}", headers=identity.staff("viewer")
    )
    [record] = detail.json()["merges"]
    assert record["actor"] == "system" and record["reason"] == "unionid"
    assert record["details"]["unionid_moved"] is True
    assert {o["openid"] for o in record["details"]["openids"]} == {person["oa_openid"]}

    # Tokens issued to the retired number keep working and see the survivor.
    me = await identity.client.get("/mp/v1/me", headers=identity.member(relogin))
    assert me.json()["member_no"] == older["member_no"]
    rows = await identity.sql(
        "SELECT status, merged_into FROM members WHERE member_no = :m", m=newer["member_no"]
    )
    assert (rows[0].status, rows[0].merged_into) == ("merged", older["member_no"])


async def test_members_with_different_unionids_never_merge(identity, sim):
    one = await identity.login(sim, (await sim.person())["person_id"])
    two = await identity.login(sim, (await sim.person())["person_id"])
    refused = await identity.client.post(
        f"/admin/v1/members/{one['member_no']}/merge",
        json={"other_member_no": two["member_no"]},
        headers=identity.staff("admin"),
    )
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/members-are-different-people")
    forbidden = await identity.client.post(
        f"/admin/v1/members/{one['member_no']}/merge",
        json={"other_member_no": two["member_no"]},
        headers=identity.staff("operator"),
    )
    assert forbidden.status_code == 403
