"""Event schemas are the contract between services (architecture.md, "Events").

Every registered type is named ``domain.entity.verb``, lives on its domain's
topic, has a JSON schema and survives the envelope round trip; every
consumer of every service listens only to registered types on the topics
they are published on.
"""

from __future__ import annotations

import importlib
import re
from collections import defaultdict
from types import SimpleNamespace

import pytest

from shared.contracts import REGISTRY, load_all
from shared.events.envelope import Envelope
from shared.kafka.topics import DOMAIN_TOPICS
from shared.settings import ServiceSettings

load_all()

TYPE_NAME = re.compile(r"^[a-z]+(\.[a-z_]+){2,}$")
SERVICES = ("identity", "campaign", "tagging", "messaging", "metrics")


@pytest.mark.parametrize("spec", REGISTRY.values(), ids=lambda s: s.type)
def test_every_contract_is_well_formed(spec):
    assert TYPE_NAME.match(spec.type), spec.type
    assert spec.topic in DOMAIN_TOPICS
    domain = spec.type.split(".")[0]
    topic_domain = spec.topic.split(".")[0]
    assert domain == topic_domain or (domain, topic_domain) == ("app", "app"), (spec.type, spec.topic)
    assert spec.version >= 1
    schema = spec.model.model_json_schema()
    assert schema["type"] == "object"
    assert spec.model.__doc__, f"{spec.model.__name__} needs a docstring saying what fact it records"


def _definitions():
    for service in SERVICES:
        module = importlib.import_module(f"{service}_service.main")
        definition = getattr(module, "DEFINITION", None)
        if definition is None:
            definition = module.definition(module.load_settings(ServiceSettings))  # pragma: no cover
        yield service, definition


@pytest.mark.parametrize("service", SERVICES)
def test_consumers_listen_to_registered_events_on_their_topics(service):
    definition = dict(_definitions())[service]
    # Consumer factories only read settings and extras while wiring handlers.
    fake_runtime = SimpleNamespace(settings=SimpleNamespace(timezone="Asia/Shanghai", service_name=service),
                                   extras=defaultdict(lambda: None), client_for=lambda name: None)
    for spec in definition.consumers(fake_runtime):
        for event_type in spec.handlers:
            if event_type == "*":
                continue
            assert event_type in REGISTRY, f"{service}.{spec.name} handles unknown {event_type}"
            assert REGISTRY[event_type].topic in spec.topics, (
                f"{service}.{spec.name} handles {event_type} but does not read {REGISTRY[event_type].topic}"
            )


def test_envelope_round_trip_keeps_typed_data():
    from datetime import UTC, datetime

    from shared.contracts.identity import MemberFollowed

    data = MemberFollowed(member_no=10001, appid="wx", openid="o", scene="ch", followed_at=datetime.now(UTC))
    envelope = Envelope(type="identity.member.followed", source="identity", member_no=10001,
                        data=data.model_dump(mode="json"))
    back = Envelope.from_bytes(envelope.to_bytes())
    assert back == envelope
    assert MemberFollowed.model_validate(back.data) == data
