"""Fuzzing from an OpenAPI document with schemathesis: the checks and the case generation every suite shares.

The end-to-end suite (``tests/e2e/test_fuzz_openapi.py``) sends the cases
through the gateway; each service's in-process suite sends them to its app
over the ASGI transport with :func:`fuzz_in_process`. Both ask the same of
every answer: no 5xx, a documented status, the documented content type and
the documented shape.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Seed of the in-process suites (the end-to-end suite picks its own, fixed in CI).
DEFAULT_SEED = 20261201


def case_strategy(operation: Any) -> SearchStrategy[Any]:
    """Requests that fit the operation's schema, and requests that don't."""
    return st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )


def fuzz_settings(examples: int) -> settings:
    """Hypothesis settings of a fuzzing run: bounded examples, no shrinking, no example database."""
    return settings(
        max_examples=examples, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck), report_multiple_bugs=False,
    )


def generate_cases(operation: Any, *, examples: int, seed_value: int = DEFAULT_SEED) -> list[Any]:
    """Generate the cases of one operation up front (to send them from async code)."""
    cases: list[Any] = []

    @seed(seed_value)
    @fuzz_settings(examples)
    @given(case=case_strategy(operation))
    def collect(case: Any) -> None:
        cases.append(case)

    collect()
    return cases


Headers = Mapping[str, str] | Callable[[Any], Mapping[str, str]]


async def fuzz_in_process(
    client: httpx.AsyncClient, document: dict[str, Any], *, headers: Headers, examples: int,
) -> tuple[int, list[str]]:
    """Send every operation's cases to an in-process app; returns (requests sent, failures).

    ``headers`` are the caller's (a token), or a function of the operation
    (e.g. an internal token for ``/internal`` paths, a staff token otherwise).
    The first failing case of an operation is reported and the operation left;
    the rest go on, so one run shows every operation that fails.
    """
    schema = schemathesis.openapi.from_dict(document)
    failures: list[str] = []
    sent = 0
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an invalid schema raises here, as it should
        caller = dict(headers(operation) if callable(headers) else headers)
        for case in generate_cases(operation, examples=examples):
            kwargs = case.as_transport_kwargs(base_url=str(client.base_url), headers=caller)
            body = {key: kwargs[key] for key in ("json", "content", "data") if key in kwargs}
            body = dict(list(body.items())[:1])  # one way of sending the body, as generated
            response = await client.request(
                kwargs["method"], kwargs["url"], params=kwargs.get("params"),
                headers={**kwargs.get("headers", {}), **caller}, **body,
            )
            sent += 1
            try:
                case.validate_response(schemathesis.Response.from_any(response), checks=CHECKS)
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(
                    f"{operation.method.upper()} {case.formatted_path} {kwargs.get('params')} "
                    f"{str(body)[:300]}: {response.status_code} {exc}"[:1500]
                )
                break
    return sent, failures
