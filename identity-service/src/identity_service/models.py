"""The identity service's declarative base; every table module registers on it."""

from sqlalchemy.orm import DeclarativeBase

from shared.db import make_metadata


class Base(DeclarativeBase):
    """Tables of the identity database."""

    metadata = make_metadata()


def import_models() -> None:
    """Import every model module so ``Base.metadata`` is complete (Alembic, tests)."""
    from identity_service.followers import models as _followers  # noqa: F401
    from identity_service.members import models as _members  # noqa: F401
    from identity_service.phones import models as _phones  # noqa: F401
    from identity_service.sessions import models as _sessions  # noqa: F401
    from identity_service.staff import models as _staff  # noqa: F401
    from identity_service.wechat_tokens import models as _tokens  # noqa: F401
