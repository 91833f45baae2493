"""Every metrics operation fuzzed from the service's own OpenAPI: no 5xx, nothing undocumented.

A quick in-process companion of tests/e2e/test_fuzz_openapi.py (which fuzzes
the combined document through the gateway): the cases are generated first,
then sent to the running app over its ASGI transport, on a database that holds
seed 002's projections so the figures have rows to compute.
"""

from __future__ import annotations

import os

import pytest
from scenario import seed_002

from shared.testing.fuzzing import fuzz_in_process

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("QUNYUN_FUZZ_EXAMPLES", "30"))


async def test_metrics_operations_survive_fuzzing(metrics_factory):
    async with metrics_factory() as m:
        s = seed_002(period1=30, returning=10, still_in_a=12, active_others=3, newcomers=4)
        await m.publish(s.events)
        await m.drained()
        sent, failures = await fuzz_in_process(m.client, m.app.openapi(), headers=m.headers, examples=EXAMPLES)
        assert sent > 100
        assert not failures, "\n\n".join(failures)
