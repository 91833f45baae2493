"""Every messaging operation fuzzed from the service's own OpenAPI: no 5xx, nothing undocumented.

Cases are generated first, then sent to the running app (as an admin) on a
database with templates, a purpose, a member and a message, so names and ids
sometimes exist.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("QUNYUN_FUZZ_EXAMPLES", "25"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _cases(operation: Any) -> list[Any]:
    cases: list[Any] = []
    strategy = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @seed(20261201)
    @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def collect(case: Any) -> None:
        cases.append(case)

    collect()
    return cases


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
        schema = schemathesis.openapi.from_dict(m.app.openapi())
        failures: list[str] = []
        sent = 0
        internal = m.headers(m.settings, caller="campaign", staff_roles=("admin",))
        for result in schema.get_all_operations():
            operation = result.ok()
            headers = internal if operation.path.startswith("/internal") else staff
            for case in _cases(operation):
                kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
                request_headers = {**kwargs.get("headers", {}), **headers}
                body: dict[str, Any] = {}
                if "json" in kwargs:
                    body["json"] = kwargs["json"]
                elif "content" in kwargs:
                    body["content"] = kwargs["content"]
                elif "data" in kwargs:
                    body["data"] = kwargs["data"]
                response = await m.client.request(kwargs["method"], kwargs["url"], params=kwargs.get("params"),
                                                  headers=request_headers, **body)
                sent += 1
                try:
                    case.validate_response(schemathesis.Response.from_any(response), checks=CHECKS)
                except (Exception, BaseExceptionGroup) as exc:
                    failures.append(f"{operation.method.upper()} {case.formatted_path} {kwargs.get('params')} "
                                    f"{str(body)[:300]}: {response.status_code} {exc}"[:1500])
                    break
        assert sent > 100
        assert not failures, "\n\n".join(failures)
