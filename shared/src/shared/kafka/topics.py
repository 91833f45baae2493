"""Topic names are contracts: operators and tests rely on them."""

from __future__ import annotations

import asyncio

import structlog
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

WECHAT_INBOUND = "wechat.inbound"
APP_ACTIVITY = "app.activity"
IDENTITY_EVENTS = "identity.events"
CAMPAIGN_EVENTS = "campaign.events"
TAGGING_EVENTS = "tagging.events"
MESSAGING_EVENTS = "messaging.events"

DOMAIN_TOPICS: tuple[str, ...] = (
    WECHAT_INBOUND,
    APP_ACTIVITY,
    IDENTITY_EVENTS,
    CAMPAIGN_EVENTS,
    TAGGING_EVENTS,
    MESSAGING_EVENTS,
)

log = structlog.get_logger("shared.kafka.topics")


def dlq_of(topic: str) -> str:
    """The dead-letter topic of ``topic``."""
    return f"{topic}.dlq"


def all_topics(namespace: str = "") -> list[str]:
    """Every domain topic and its dead-letter topic (physical names)."""
    return [namespace + name for topic in DOMAIN_TOPICS for name in (topic, dlq_of(topic))]


async def ensure_topics(
    bootstrap: str, topics: list[str], *, partitions: int, replication: int = 1, attempts: int = 30
) -> None:
    """Create missing topics; retries while the broker is still starting."""
    for attempt in range(attempts):
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [t for t in topics if t not in existing]
            if missing:
                response = await admin.create_topics(
                    [NewTopic(t, num_partitions=partitions, replication_factor=replication) for t in missing]
                )
                # Errors come back per topic (some brokers never raise):
                # "already exists" is fine (a concurrent creator), anything else is not.
                failed = {
                    name: code
                    for name, code, *_ in getattr(response, "topic_errors", [])
                    if code not in (0, TopicAlreadyExistsError.errno)
                }
                if failed:
                    raise RuntimeError(f"topic creation failed: {failed}")
                log.info("topics_created", topics=missing, partitions=partitions)
            return
        except Exception as exc:  # broker not up yet: any client error is retried
            log.warning("topics_not_ready", attempt=attempt, error=str(exc))
            await asyncio.sleep(min(0.5 * (attempt + 1), 3.0))
        finally:
            await admin.close()
    raise RuntimeError(f"could not create topics on {bootstrap}")
