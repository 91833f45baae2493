"""Finishing a secret-key rotation: ``rekey`` rewrites phones, their hashes and session keys."""

import asyncio
import json

from identity_service import cli
from identity_service.rekey import rekey

OLD_KEY = "the-old-secret-key-0123456789abcdefghij"
NEW_KEY = "the-new-secret-key-0123456789abcdefghij"
PHONE = "13800138077"


async def test_rekey_lets_the_previous_key_go(identity_app, migrated_db, sim, infra, monkeypatch):
    database = await migrated_db("identity")
    owner_person, other_person = await sim.person(with_unionid=False), await sim.person(with_unionid=False)

    # Written under the old key: a bound phone, a merge candidate on it, two session keys.
    async with identity_app(database, secret_key=OLD_KEY) as identity:
        owner = await identity.login(sim, owner_person["person_id"])
        other = await identity.login(sim, other_person["person_id"])
        for who, person in ((owner, owner_person), (other, other_person)):
            await identity.client.post(
                "/mp/v1/me/phone", json={"code": await sim.phone_code(person["person_id"], PHONE)},
                headers=identity.member(who),
            )
        old_rows = await identity.sql("SELECT phone_hash, phone_enc FROM member_phones")
        assert len(old_rows) == 1
        assert len(await identity.sql("SELECT id FROM phone_conflicts")) == 1

    # Rotation: new key current, old key previous; rekey in batches of one.
    async with identity_app(database, secret_key=NEW_KEY, secret_key_previous=OLD_KEY) as identity:
        report = await rekey(identity.runtime.session_factory, identity.ctx.cipher, batch=1)
        assert (report.phones, report.phone_hashes, report.phone_conflicts, report.session_keys) == (1, 1, 1, 2)
        assert report.unreadable == {"phones": 0, "session_keys": 0}
        [row] = await identity.sql("SELECT phone_hash, phone_enc FROM member_phones")
        assert row.phone_hash != old_rows[0].phone_hash and row.phone_enc != old_rows[0].phone_enc
        [conflict] = await identity.sql("SELECT phone_hash FROM phone_conflicts")
        assert conflict.phone_hash == row.phone_hash

        # Run again (the operator's command line): nothing left to rewrite.
        monkeypatch.setenv("QUNYUN_ENV_FILE", "/dev/null")
        monkeypatch.setenv("DATABASE_URL", infra.server_uri)
        monkeypatch.setenv("IDENTITY_DATABASE_NAME", database)
        monkeypatch.setenv("QUNYUN_SECRET_KEY", NEW_KEY)
        monkeypatch.setenv("QUNYUN_SECRET_KEY_PREVIOUS", OLD_KEY)
        assert await asyncio.to_thread(cli.main, ["rekey"]) == 0

    # The old key is gone: every value still opens and every search still finds.
    async with identity_app(database, secret_key=NEW_KEY) as identity:
        admin = identity.staff("admin")
        found = await identity.client.get("/admin/v1/members", params={"phone": PHONE}, headers=admin)
        assert [m["member_no"] for m in found.json()["items"]] == [owner["member_no"]]
        assert found.json()["items"][0]["phone"] == f"+86{PHONE}"
        candidates = await identity.client.get("/admin/v1/members/merge-candidates", headers=admin)
        assert [(c["member_no"], c["owner_member_no"]) for c in candidates.json()["items"]] == [
            (other["member_no"], owner["member_no"])
        ]
        data = await sim.encrypted(owner_person["person_id"], kind="share", open_gid="tGroupRekey")
        opened = await identity.client.post(
            f"/internal/members/{owner['member_no']}/decrypt", json=data, headers=identity.service()
        )
        assert opened.status_code == 200 and opened.json()["openGId"] == "tGroupRekey"
        # The owner binding the same phone again is recognised under the new hash.
        again = await identity.login(sim, owner_person["person_id"])
        rebound = await identity.client.post(
            "/mp/v1/me/phone", json={"code": await sim.phone_code(owner_person["person_id"], PHONE)},
            headers=identity.member(again),
        )
        assert rebound.status_code == 200
        assert len(await identity.sql("SELECT id FROM member_phones")) == 1


def test_rekey_output_is_json(capsys, monkeypatch, infra, migrated_db_sync):
    monkeypatch.setenv("QUNYUN_ENV_FILE", "/dev/null")
    monkeypatch.setenv("DATABASE_URL", infra.server_uri)
    monkeypatch.setenv("IDENTITY_DATABASE_NAME", migrated_db_sync)
    assert cli.main(["rekey", "--batch", "10"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["phones"] == 0 and report["unreadable"] == {"phones": 0, "session_keys": 0}
