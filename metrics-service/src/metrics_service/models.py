"""The metrics service's declarative base; every table module registers on it."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from shared.db import make_metadata


class Base(DeclarativeBase):
    """Tables of the metrics database."""

    metadata = make_metadata()


def import_models() -> None:
    """Import every model module so ``Base.metadata`` is complete (Alembic, tests)."""
    from metrics_service.activity import models as activity  # noqa: F401
    from metrics_service.campaigns import models as campaigns  # noqa: F401
    from metrics_service.communities import models as communities  # noqa: F401
    from metrics_service.overview import models as overview  # noqa: F401
    from metrics_service.summaries import models as summaries  # noqa: F401
