"""Phone binding (code and legacy encryptedData), conflicts, and decryption for other services."""

from identity_service.phones.service import PHONE_CONTEXT
from identity_service.sessions.service import SESSION_KEY_CONTEXT
from shared.sealing import Sealer
from shared.wechat.miniprogram import encrypt_data, watermark


async def _bind(identity, session, body):
    return await identity.client.post("/mp/v1/me/phone", json=body, headers=identity.member(session))


async def test_bind_with_code(identity, sim):
    person = await sim.person()
    session = await identity.login(sim, person["person_id"])
    code = await sim.phone_code(person["person_id"], "13800138001")
    response = await _bind(identity, session, {"code": code})
    assert response.status_code == 200, response.text
    assert response.json() == {"bound": True, "masked": "138****8001", "country_code": "86"}

    rows = await identity.sql("SELECT phone_enc, phone_hash, masked FROM member_phones")
    assert len(rows) == 1 and b"13800138001" not in rows[0].phone_enc
    assert identity.ctx.cipher.decrypt(rows[0].phone_enc, context=PHONE_CONTEXT) == "+8613800138001"
    bound = await identity.events("identity.member.phone_bound")
    sealed = [e["data"].pop("phone_sealed") for e in bound]
    assert [e["data"] for e in bound] == [
        {"member_no": session["member_no"], "phone_masked": "138****8001", "country_code": "86",
         "republished": False}
    ]
    # The full number travels only sealed (tagging shows it to the roles that may see phones).
    assert "13800138001" not in sealed[0]
    assert Sealer(identity.ctx.settings.verification_keys()).open(sealed[0], context="phone") == "+8613800138001"
    me = (await identity.client.get("/mp/v1/me", headers=identity.member(session))).json()
    assert me["phone"]["bound"] is True and me["phone"]["masked"] == "138****8001"

    used = await _bind(identity, session, {"code": code})
    assert used.status_code == 422 and used.json()["type"].endswith("/phone-code-invalid")
    # Binding the same phone again is a no-op, not a second event.
    again = await _bind(identity, session, {"code": await sim.phone_code(person["person_id"], "13800138001")})
    assert again.status_code == 200
    assert len(await identity.events("identity.member.phone_bound")) == 1


async def test_bind_with_legacy_encrypted_data_uses_the_latest_session_key(identity, sim):
    person = await sim.person()
    session = await identity.login(sim, person["person_id"])
    data = await sim.encrypted(person["person_id"], kind="phone", phone="13900139002")
    response = await _bind(identity, session, {"encrypted_data": data["encrypted_data"], "iv": data["iv"]})
    assert response.status_code == 200, response.text
    assert response.json()["masked"] == "139****9002"

    # wx.login again without signing in with the code: the client's key moved on, ours did not.
    await sim.login_code(person["person_id"])
    stale = await sim.encrypted(person["person_id"], kind="phone", phone="13900139003")
    failed = await _bind(identity, session, {"encrypted_data": stale["encrypted_data"], "iv": stale["iv"]})
    assert failed.status_code == 422
    assert failed.json()["type"].endswith("/encrypted-data-invalid")


async def test_watermark_of_another_app_is_refused(identity, sim):
    person = await sim.person()
    session = await identity.login(sim, person["person_id"])
    row = (await identity.sql("SELECT session_key_enc FROM mp_sessions"))[0]
    session_key = identity.ctx.cipher.decrypt(row.session_key_enc, context=SESSION_KEY_CONTEXT)
    payload = {
        "phoneNumber": "13700137000",
        "purePhoneNumber": "13700137000",
        "countryCode": "86",
        "watermark": watermark("wxsomeoneelse0000"),
    }
    data, iv = encrypt_data(session_key, payload)
    refused = await _bind(identity, session, {"encrypted_data": data, "iv": iv})
    assert refused.status_code == 422
    payload["watermark"] = watermark(identity.settings.mp_appid)
    data, iv = encrypt_data(session_key, payload)
    assert (await _bind(identity, session, {"encrypted_data": data, "iv": iv})).status_code == 200


async def test_phone_of_another_member_is_a_merge_candidate_not_a_takeover(identity, sim):
    # Without UnionIDs: two members with different UnionIDs are two WeChat accounts and never merge.
    owner_person, other_person = await sim.person(with_unionid=False), await sim.person(with_unionid=False)
    owner = await identity.login(sim, owner_person["person_id"])
    other = await identity.login(sim, other_person["person_id"])
    assert (
        await _bind(identity, owner, {"code": await sim.phone_code(owner_person["person_id"], "13600136000")})
    ).status_code == 200

    clash = await _bind(
        identity, other, {"code": await sim.phone_code(other_person["person_id"], "13600136000")}
    )
    assert clash.status_code == 409
    assert clash.json()["type"].endswith("/phone-bound-to-another-member")
    rows = await identity.sql("SELECT member_no FROM member_phones")
    assert [r.member_no for r in rows] == [owner["member_no"]]

    candidates = await identity.client.get(
        "/admin/v1/members/merge-candidates", headers=identity.staff("viewer")
    )
    assert candidates.status_code == 200
    [candidate] = candidates.json()["items"]
    assert (candidate["member_no"], candidate["owner_member_no"]) == (other["member_no"], owner["member_no"])
    assert candidate["phone_masked"] == "136****6000"
    detail = await identity.client.get(
        f"/admin/v1/members/{other['member_no']}", headers=identity.staff("viewer")
    )
    assert [c["id"] for c in detail.json()["merge_candidates"]] == [candidate["id"]]

    # Staff decide they are one person: merge, the older number survives, the candidate closes.
    merged = await identity.client.post(
        f"/admin/v1/members/{other['member_no']}/merge",
        json={"other_member_no": owner["member_no"]},
        headers=identity.staff("admin", staff_id=7, username="boss"),
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["member_no"] == owner["member_no"]
    assert merged.json()["merge_candidates"] == []
    assert merged.json()["merges"][0]["actor"] == "staff:7:boss"
    left = await identity.client.get("/admin/v1/members/merge-candidates", headers=identity.staff("viewer"))
    assert left.json()["items"] == []


async def test_internal_decrypt_for_share_tickets(identity, sim):
    person = await sim.person()
    session = await identity.login(sim, person["person_id"])
    data = await sim.encrypted(person["person_id"], kind="share", open_gid="tGroup123")
    response = await identity.client.post(
        f"/internal/members/{session['member_no']}/decrypt", json=data, headers=identity.service()
    )
    assert response.status_code == 200, response.text
    assert response.json()["openGId"] == "tGroup123"
    assert response.json()["watermark"]["appid"] == identity.settings.mp_appid

    nobody = await identity.client.post(
        "/internal/members/99999/decrypt", json=data, headers=identity.service()
    )
    assert nobody.status_code == 404
