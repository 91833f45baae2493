"""A consumer process whose handler does nothing: measures the framework's cost.

Same runner as every service (inbox claim in the batch transaction, offsets
committed after the database), on the metrics database given by the env.
"""

from __future__ import annotations

import asyncio
import os
import signal

from metrics_service.config import MetricsSettings
from shared.db import create_engine, create_session_factory
from shared.kafka.consumer import ConsumerSpec, EventConsumer
from shared.kafka.producer import create_producer
from shared.settings import load_settings


async def main() -> None:
    """Consume identity events until SIGTERM."""
    settings = load_settings(MetricsSettings)
    engine = create_engine(settings.own_database_url())
    factory = create_session_factory(engine)

    async def nothing(session, envelope) -> None:  # the inbox claim is the whole effect
        return None

    dlq = create_producer(settings, client_id="bench-dlq")
    await dlq.start()
    consumer = EventConsumer(
        service="bench", spec=ConsumerSpec(name="noop", topics=["identity.events"], handlers={"*": nothing}),
        settings=settings, session_factory=factory, dlq_producer=dlq,
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await consumer.run(stop)
    await dlq.stop()
    await engine.dispose()


if __name__ == "__main__":
    os.environ.setdefault("QUNYUN_LOG_LEVEL", "WARNING")
    asyncio.run(main())
