"""Phones bound before sealing: republished once, sealed, for each member's current phone only."""

from identity_service.phones.republish import republish_sealed
from shared.sealing import Sealer


async def _bind(identity, sim, person_id, session, phone):
    response = await identity.client.post(
        "/mp/v1/me/phone", json={"code": await sim.phone_code(person_id, phone)}, headers=identity.member(session)
    )
    assert response.status_code == 200, response.text


async def test_republish_sends_each_members_current_phone_sealed_once(identity, sim):
    first = await sim.person()
    first_session = await identity.login(sim, first["person_id"])
    await _bind(identity, sim, first["person_id"], first_session, "13700137001")
    await _bind(identity, sim, first["person_id"], first_session, "13700137002")  # now the current one
    second = await sim.person()
    second_session = await identity.login(sim, second["person_id"])
    await _bind(identity, sim, second["person_id"], second_session, "13700137003")
    # New bindings are stamped at insert: nothing to republish.
    keys = identity.ctx.settings.verification_keys()
    nothing = await republish_sealed(identity.runtime.session_factory, cipher=identity.ctx.cipher,
                                     sealer=Sealer(keys))
    assert (nothing.published, nothing.stamped) == (0, 0)

    # The rows of an older system (bound before phone_bound carried the sealed number).
    await identity.execute("UPDATE member_phones SET sealed_published_at = NULL")
    before = len(await identity.events("identity.member.phone_bound"))
    report = await republish_sealed(identity.runtime.session_factory, cipher=identity.ctx.cipher,
                                    sealer=Sealer(keys), batch=1)
    assert (report.published, report.stamped, report.unreadable) == (2, 3, 0)
    republished = (await identity.events("identity.member.phone_bound"))[before:]
    got = {e["data"]["member_no"]: e["data"] for e in republished}
    assert set(got) == {first_session["member_no"], second_session["member_no"]}
    assert all(d["republished"] is True for d in got.values())
    current = got[first_session["member_no"]]
    assert current["phone_masked"] == "137****7002"
    assert Sealer(keys).open(current["phone_sealed"], context="phone") == "+8613700137002"

    again = await republish_sealed(identity.runtime.session_factory, cipher=identity.ctx.cipher, sealer=Sealer(keys))
    assert (again.published, again.stamped) == (0, 0)
