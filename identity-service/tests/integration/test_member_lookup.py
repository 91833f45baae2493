"""Staff member lookup: by number, phone, openid, UnionID, free text; masking; pagination."""


async def _member_with_phone(identity, sim, phone):
    person = await sim.person()
    session = await identity.login(sim, person["person_id"])
    response = await identity.client.post(
        "/mp/v1/me/phone",
        json={"code": await sim.phone_code(person["person_id"], phone)},
        headers=identity.member(session),
    )
    assert response.status_code == 200
    return person, session


async def test_lookup_by_every_key_with_phone_masked_unless_admin(identity, sim):
    person, session = await _member_with_phone(identity, sim, "13100131000")
    other, _ = await _member_with_phone(identity, sim, "13100131001")
    number = session["member_no"]
    viewer, admin = identity.staff("viewer"), identity.staff("admin")

    async def search(headers=viewer, **params):
        response = await identity.client.get("/admin/v1/members", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [item["member_no"] for item in response.json()["items"]]

    assert await search(phone="131 0013 1000") == [number]
    assert await search(phone="+8613100131000") == [number]
    assert await search(openid=person["mp_openid"]) == [number]
    assert await search(unionid=person["unionid"]) == [number]
    assert await search(q=str(number)) == [number]
    assert await search(q=f"0{number}") == [number]
    assert await search(q="13100131000") == [number]
    assert await search(q=person["unionid"]) == [number]
    assert await search(q="nothing-matches") == []
    assert await search(phone="13100131000", openid=other["mp_openid"]) == []

    rows = (
        await identity.client.get("/admin/v1/members", params={"phone": "13100131000"}, headers=viewer)
    ).json()
    assert rows["items"][0]["phone"] == "131****1000"
    rows = (
        await identity.client.get("/admin/v1/members", params={"phone": "13100131000"}, headers=admin)
    ).json()
    assert rows["items"][0]["phone"] == "+8613100131000"

    detail = (await identity.client.get(f"/admin/v1/members/{number}", headers=viewer)).json()
    assert detail["member_no_display"] == f"{number:05d}"
    assert detail["phones"][0] | {"bound_at": None} == {
        "number": "131****1000",
        "masked": True,
        "country_code": "86",
        "source": "code",
        "bound_at": None,
    }
    assert detail["openids"][0]["openid"] == person["mp_openid"]
    assert detail["follows"] == [] and detail["merges"] == []
    full = (await identity.client.get(f"/admin/v1/members/{number}", headers=admin)).json()
    assert full["phones"][0]["number"] == "+8613100131000" and full["phones"][0]["masked"] is False

    missing = await identity.client.get("/admin/v1/members/99999", headers=viewer)
    assert missing.status_code == 404 and missing.json()["type"].endswith("/member-not-found")


async def test_list_is_cursor_paginated_newest_first(identity, sim):
    numbers = [(await identity.login(sim, (await sim.person())["person_id"]))["member_no"] for _ in range(5)]
    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (
            await identity.client.get("/admin/v1/members", params=params, headers=identity.staff("sales"))
        ).json()
        seen += [item["member_no"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(numbers, reverse=True)
    bad = await identity.client.get(
        "/admin/v1/members", params={"cursor": "%%%"}, headers=identity.staff("sales")
    )
    assert bad.status_code == 422
    too_big = await identity.client.get(
        "/admin/v1/members", params={"limit": 1000}, headers=identity.staff("sales")
    )
    assert too_big.status_code == 422
