"""The tagging service's declarative base; every table module registers on it."""

from sqlalchemy.orm import DeclarativeBase

from shared.db import make_metadata


class Base(DeclarativeBase):
    """Tables of the tagging database."""

    metadata = make_metadata()


def import_models() -> None:
    """Import every model module so ``Base.metadata`` is complete (Alembic, tests)."""
    from tagging_service.facts import models as _facts  # noqa: F401
    from tagging_service.notes import models as _notes  # noqa: F401
    from tagging_service.rules import models as _rules  # noqa: F401
    from tagging_service.segments import models as _segments  # noqa: F401
    from tagging_service.tags import models as _tags  # noqa: F401
