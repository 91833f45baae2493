"""Staff accounts: first admin, sign-in with lockout, administration, roles."""


from identity_service import cli
from shared.auth import TokenCodec


async def _login(identity, username, password):
    return await identity.client.post(
        "/admin/v1/session", json={"username": username, "password": password}, headers=identity.public()
    )


async def test_first_admin_from_settings_signs_in(identity_app):
    async with identity_app(admin_username="Chief", admin_password="first-admin-pass") as identity:
        response = await _login(identity, "chief", "first-admin-pass")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["staff"]["username"] == "chief" and body["staff"]["role"] == "admin"
        principal = TokenCodec(identity.settings).verify_staff(body["token"])
        assert principal.roles == frozenset({"admin"}) and principal.username == "chief"
        rows = await identity.sql("SELECT password_hash FROM staff")
        assert rows[0].password_hash.startswith("$argon2id$")


async def test_wrong_passwords_lock_the_account(identity_app):
    async with identity_app(admin_password="right-password", staff_max_failed_logins=3) as identity:
        for _ in range(2):
            wrong = await _login(identity, "admin", "wrong-password")
            assert wrong.status_code == 401 and wrong.json()["type"].endswith("/invalid-credentials")
        locking = await _login(identity, "admin", "wrong-password")
        assert locking.status_code == 429
        locked = await _login(identity, "admin", "right-password")
        assert locked.status_code == 429
        assert locked.json()["type"].endswith("/account-locked")
        assert int(locked.headers["retry-after"]) > 0
        # Unknown users get the same answer as wrong passwords.
        assert (await _login(identity, "nobody", "x")).json()["type"].endswith("/invalid-credentials")

        await identity.execute("UPDATE staff SET locked_until = now() - interval '1 second'")
        assert (await _login(identity, "admin", "right-password")).status_code == 200


async def test_admin_manages_staff_and_roles_are_enforced(identity_app):
    async with identity_app(admin_password="right-password") as identity:
        admin = (await _login(identity, "admin", "right-password")).json()["staff"]
        as_admin = identity.staff("admin", staff_id=admin["id"], username="admin")

        created = await identity.client.post(
            "/admin/v1/staff",
            json={"username": "Ops1", "password": "operator-pass", "role": "operator"},
            headers=as_admin,
        )
        assert created.status_code == 201, created.text
        operator = created.json()
        assert operator["username"] == "ops1" and operator["role"] == "operator"
        duplicate = await identity.client.post(
            "/admin/v1/staff",
            json={"username": "ops1", "password": "operator-pass", "role": "viewer"},
            headers=as_admin,
        )
        assert duplicate.status_code == 409
        short = await identity.client.post(
            "/admin/v1/staff",
            json={"username": "ops2", "password": "short123", "role": "viewer"},
            headers=as_admin,
        )
        assert short.status_code == 422

        as_operator = identity.staff("operator", staff_id=operator["id"], username="ops1")
        forbidden = await identity.client.post(
            "/admin/v1/staff",
            json={"username": "x1", "password": "operator-pass", "role": "admin"},
            headers=as_operator,
        )
        assert forbidden.status_code == 403 and forbidden.json()["type"].endswith("/role-required")
        assert (await identity.client.get("/admin/v1/staff", headers=as_operator)).status_code == 403
        me = await identity.client.get("/admin/v1/staff/me", headers=as_operator)
        assert me.json()["username"] == "ops1"

        listing = await identity.client.get("/admin/v1/staff?limit=1", headers=as_admin)
        assert len(listing.json()["items"]) == 1 and listing.json()["next_cursor"]
        rest = await identity.client.get(
            f"/admin/v1/staff?cursor={listing.json()['next_cursor']}", headers=as_admin
        )
        assert [s["username"] for s in rest.json()["items"]] == ["ops1"]

        promoted = await identity.client.put(
            f"/admin/v1/staff/{operator['id']}/role", json={"role": "sales"}, headers=as_admin
        )
        assert promoted.json()["role"] == "sales"
        login = await _login(identity, "ops1", "operator-pass")
        assert TokenCodec(identity.settings).verify_staff(login.json()["token"]).roles == frozenset({"sales"})

        disabled = await identity.client.post(f"/admin/v1/staff/{operator['id']}/disable", headers=as_admin)
        assert disabled.json()["disabled"] is True
        refused = await _login(identity, "ops1", "operator-pass")
        assert refused.status_code == 403 and refused.json()["type"].endswith("/account-disabled")
        await identity.client.post(f"/admin/v1/staff/{operator['id']}/enable", headers=as_admin)
        assert (await _login(identity, "ops1", "operator-pass")).status_code == 200

        # The last admin can neither disable itself nor lose the role.
        self_disable = await identity.client.post(f"/admin/v1/staff/{admin['id']}/disable", headers=as_admin)
        assert self_disable.status_code == 409
        demote = await identity.client.put(
            f"/admin/v1/staff/{admin['id']}/role", json={"role": "viewer"}, headers=as_admin
        )
        assert demote.status_code == 409 and demote.json()["type"].endswith("/last-admin")


def test_cli_creates_an_admin_once(monkeypatch, infra, migrated_db_sync, capsys):
    monkeypatch.setenv("QUNYUN_ENV_FILE", "/dev/null")
    monkeypatch.setenv("DATABASE_URL", infra.server_uri)
    monkeypatch.setenv("IDENTITY_DATABASE_NAME", migrated_db_sync)
    monkeypatch.setenv("QUNYUN_ADMIN_PASSWORD", "cli-admin-password")
    assert cli.main(["create-admin", "--username", "Root"]) == 0
    assert "created" in capsys.readouterr().out
    assert cli.main(["create-admin", "--username", "root"]) == 1
    monkeypatch.setenv("QUNYUN_ADMIN_PASSWORD", "short")
    assert cli.main(["create-admin", "--username", "other"]) == 2
