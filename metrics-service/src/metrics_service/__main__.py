"""``python -m metrics_service``: serve the API (and, by default, the worker)."""

from metrics_service.config import MetricsSettings
from shared.runtime import serve
from shared.settings import load_settings

if __name__ == "__main__":
    settings = load_settings(MetricsSettings)
    serve("metrics_service.main:create_app", settings)
