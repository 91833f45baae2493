"""Connection pools split between worker processes (pure settings logic)."""

from messaging_service.config import MessagingSettings
from messaging_service.main import per_worker


def test_one_worker_keeps_the_pools() -> None:
    settings = MessagingSettings(_env_file=None, driver_pool_size=20, db_pool_size=10, db_max_overflow=20)
    assert per_worker(settings) is settings


def test_each_worker_gets_its_share_rounded_up() -> None:
    settings = MessagingSettings(_env_file=None, workers=3, driver_pool_size=20, db_pool_size=10, db_max_overflow=20)
    shared = per_worker(settings)
    assert (shared.driver_pool_size, shared.db_pool_size, shared.db_max_overflow) == (7, 4, 7)
    # Never below a working minimum, however many workers.
    many = per_worker(settings.model_copy(update={"workers": 16}))
    assert (many.driver_pool_size, many.db_pool_size, many.db_max_overflow) == (4, 2, 2)
