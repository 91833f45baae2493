"""The campaign service's declarative base; every table module registers on it."""

from sqlalchemy.orm import DeclarativeBase

from shared.db import make_metadata


class Base(DeclarativeBase):
    """Tables of the campaign database."""

    metadata = make_metadata()


def import_models() -> None:
    """Import every model module so ``Base.metadata`` is complete (Alembic, tests)."""
    from campaign_service.blocklist import models as _blocklist  # noqa: F401
    from campaign_service.channels import models as _channels  # noqa: F401
    from campaign_service.checkins import models as _checkins  # noqa: F401
    from campaign_service.communities import models as _communities  # noqa: F401
    from campaign_service.payments import models as _payments  # noqa: F401
    from campaign_service.periods import models as _periods  # noqa: F401
    from campaign_service.referrals import models as _referrals  # noqa: F401
    from campaign_service.registrations import models as _registrations  # noqa: F401
    from campaign_service.settlement import models as _settlement  # noqa: F401
