"""Consumers of tagging-service: member facts from identity, campaign and the mini-program."""

from __future__ import annotations

from shared.kafka.consumer import ConsumerSpec
from shared.runtime import ServiceRuntime


def consumers(runtime: ServiceRuntime) -> list[ConsumerSpec]:
    """The tagging service's consumers."""
    return []
