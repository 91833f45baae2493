"""``python -m metrics_service.worker``: consumers and outbox relay without HTTP."""

from metrics_service.config import MetricsSettings
from metrics_service.main import DEFINITION
from shared.runtime import run_worker
from shared.settings import load_settings

if __name__ == "__main__":
    run_worker(DEFINITION, load_settings(MetricsSettings).model_copy(update={"run_worker": True}))
