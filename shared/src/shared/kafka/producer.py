"""Producer factory: acks=all always; the idempotent producer where the broker allows."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from shared.settings import QunyunSettings


def create_producer(settings: QunyunSettings, *, client_id: str) -> AIOKafkaProducer:
    """A producer for the outbox relay and dead-letter publishing (not started)."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=settings.kafka_idempotent_producer,
        linger_ms=2,
        max_batch_size=256 * 1024,
        request_timeout_ms=10_000,
        retry_backoff_ms=200,
        compression_type=None,
    )
