"""Event contracts between services: one module per domain.

Every event payload is a pydantic model registered with :func:`event`, which
fixes its type name, schema version and topic. Producers emit the model;
consumers parse ``envelope.data`` with :func:`parse`. A contract test checks
that every registered type is well formed and every producer's events match.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

from shared.events.envelope import Envelope


class EventData(BaseModel):
    """Base of every payload; unknown fields are tolerated for forward compatibility."""

    model_config = ConfigDict(extra="ignore", frozen=True)


@dataclass(frozen=True)
class EventSpec:
    """What the registry knows about one event type."""

    type: str
    version: int
    topic: str
    model: builtins.type[EventData]  # ``type`` alone would name the field above


REGISTRY: dict[str, EventSpec] = {}
_BY_MODEL: dict[type[EventData], EventSpec] = {}

PayloadT = TypeVar("PayloadT", bound=type[EventData])
DataT = TypeVar("DataT", bound=EventData)


def event(type_name: str, *, topic: str, version: int = 1) -> Any:
    """Register a payload model as the contract for ``type_name`` on ``topic``."""

    def register(model: PayloadT) -> PayloadT:
        if type_name in REGISTRY:
            raise ValueError(f"event type {type_name} registered twice")
        spec = EventSpec(type=type_name, version=version, topic=topic, model=model)
        REGISTRY[type_name] = spec
        _BY_MODEL[model] = spec
        return model

    return register


def spec_of(payload: EventData | type[EventData]) -> EventSpec:
    """The registry entry of a payload model or instance."""
    model = payload if isinstance(payload, type) else type(payload)
    try:
        return _BY_MODEL[model]
    except KeyError as exc:
        raise LookupError(f"{model.__name__} is not a registered event contract") from exc


def parse(envelope: Envelope, model: type[DataT]) -> DataT:
    """Validate an envelope's data against the expected contract."""
    return model.model_validate(envelope.data)


def load_all() -> None:
    """Import every domain module so the registry is complete."""
    from shared.contracts import (  # noqa: F401
        campaign,
        gateway,
        identity,
        messaging,
        tagging,
    )
