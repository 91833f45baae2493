"""The `make demo` walk-through works against the whole system."""

import pytest

from qunyun_local.demo import run_demo

pytestmark = pytest.mark.e2e


def test_demo_walks_a_small_campaign(system):
    lines: list[str] = []
    result = run_demo(system.gateway, system.simulator, system.admin_username, system.admin_password,
                      people=3, say=lines.append)
    assert len(result.members) == 3
    numbers = [m["member_no"] for m in result.members]
    assert numbers == sorted(numbers) and len(set(numbers)) == 3 and min(numbers) >= 10001
    assert all(m["follows"] for m in result.members), result.members
    assert all(m["push_answer"] == "success" for m in result.members)
    assert result.places_left == 97
    assert lines[0].startswith("staff admin signed in")
