"""Every metrics operation fuzzed from the service's own OpenAPI: no 5xx, nothing undocumented.

A quick in-process companion of tests/e2e/test_fuzz_openapi.py (which fuzzes
the combined document through the gateway): the cases are generated first,
then sent to the running app over its ASGI transport, on a database that holds
seed 002's projections so the figures have rows to compute.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from scenario import seed_002
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("QUNYUN_FUZZ_EXAMPLES", "30"))
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


async def test_metrics_operations_survive_fuzzing(metrics_factory):
    async with metrics_factory() as m:
        s = seed_002(period1=30, returning=10, still_in_a=12, active_others=3, newcomers=4)
        await m.publish(s.events)
        await m.drained()
        schema = schemathesis.openapi.from_dict(m.app.openapi())
        failures: list[str] = []
        sent = 0
        for result in schema.get_all_operations():
            operation = result.ok()
            for case in _cases(operation):
                kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=m.headers)
                response = await m.client.request(
                    kwargs["method"], kwargs["url"], params=kwargs.get("params"),
                    headers={**kwargs.get("headers", {}), **m.headers},
                )
                sent += 1
                try:
                    case.validate_response(schemathesis.Response.from_any(response), checks=CHECKS)
                except (Exception, BaseExceptionGroup) as exc:
                    failures.append(f"{operation.method.upper()} {case.formatted_path} {kwargs.get('params')}: "
                                    f"{response.status_code} {exc}"[:1500])
                    break
        assert sent > 100
        assert not failures, "\n\n".join(failures)
