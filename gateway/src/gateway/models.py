"""The gateway's declarative base (callback and activity dedupe; the outbox is shared)."""

from sqlalchemy.orm import DeclarativeBase

from shared.db import make_metadata


class Base(DeclarativeBase):
    """Tables of the gateway database."""

    metadata = make_metadata()


def import_models() -> None:
    """Import every model module so ``Base.metadata`` is complete."""
    from gateway.activity import models as activity_models  # noqa: F401
    from gateway.callbacks import models  # noqa: F401
    from gateway.revocations import models as revocation_models  # noqa: F401
