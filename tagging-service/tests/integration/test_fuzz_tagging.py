"""Every tagging operation fuzzed from the service's own OpenAPI: no 5xx, nothing undocumented.

An in-process companion of tests/e2e/test_fuzz_openapi.py: cases are generated
first, then sent to the running app (as an operator) on a database with a few
tags, members, notes and a saved segment, so ids in paths sometimes exist.
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


async def test_tagging_operations_survive_fuzzing(tagging_factory):
    async with tagging_factory() as t:
        staff = t.staff("admin")
        group = (await t.client.post("/admin/v1/tag-groups", json={"name": "组"}, headers=staff)).json()
        tag = (await t.client.post("/admin/v1/tags", json={"group_id": group["id"], "name": "标"},
                                   headers=staff)).json()
        await t.client.post(f"/admin/v1/tags/{tag['id']}/members", json={"member_nos": [1, 2, 10001]}, headers=staff)
        await t.client.post("/admin/v1/members/1/notes", json={"kind": "note", "text": "x"}, headers=staff)
        await t.client.post("/admin/v1/segments", json={"name": "s", "definition": {"tag": tag["id"]}}, headers=staff)
        schema = schemathesis.openapi.from_dict(t.app.openapi())
        failures: list[str] = []
        sent = 0
        internal = t.headers(t.settings, caller="messaging", staff_roles=("admin",))
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
                response = await t.client.request(kwargs["method"], kwargs["url"], params=kwargs.get("params"),
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
