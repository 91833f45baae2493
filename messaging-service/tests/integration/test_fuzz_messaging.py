"""Every messaging operation fuzzed from the service's own OpenAPI: no 5xx, nothing undocumented.

Cases are generated first, then sent to the running app (as an admin) on a
database with templates, a purpose, a member and a message, so names and ids
sometimes exist.
"""

from __future__ import annotations

import os

import pytest

from shared.testing.fuzzing import fuzz_in_process

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("QUNYUN_FUZZ_EXAMPLES", "25"))


async def test_messaging_operations_survive_fuzzing(messaging_factory):
    async with messaging_factory() as m:
        staff = m.staff("admin")
        await m.template("oa", "OA_NOTICE", "课程通知", "课程:{{thing1.DATA}}")
        await m.sync()
        await m.purpose("notice.x", "transactional", [
            {"channel": "template", "template_id": "OA_NOTICE", "fields": {"thing1": "{title}"}},
            {"channel": "custom", "text": "{title}"}])
        person = await m.person(follow=True)
        await m.send(person["member_no"], "notice.x", {"title": "hi"})
        # The gateway routes only public paths; the internal send is fuzzed too (as campaign).
        internal = m.headers(m.settings, caller="campaign", staff_roles=("admin",))
        sent, failures = await fuzz_in_process(
            m.client, m.app.openapi(), examples=EXAMPLES,
            headers=lambda operation: internal if operation.path.startswith("/internal") else staff,
        )
        assert sent > 100
        assert not failures, "\n\n".join(failures)
