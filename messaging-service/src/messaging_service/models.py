"""The messaging service's declarative base; every table module registers on it."""

from sqlalchemy.orm import DeclarativeBase

from shared.db import make_metadata


class Base(DeclarativeBase):
    """Tables of the messaging database."""

    metadata = make_metadata()


def import_models() -> None:
    """Import every model module so ``Base.metadata`` is complete (Alembic, tests)."""
    from messaging_service.audience import models as _audience  # noqa: F401
    from messaging_service.auto_replies import models as _auto_replies  # noqa: F401
    from messaging_service.automations import models as _automations  # noqa: F401
    from messaging_service.broadcasts import models as _broadcasts  # noqa: F401
    from messaging_service.ledger import models as _ledger  # noqa: F401
    from messaging_service.messages import models as _messages  # noqa: F401
    from messaging_service.purposes import models as _purposes  # noqa: F401
    from messaging_service.templates import models as _templates  # noqa: F401
