"""Alembic environment of metrics-service."""

from metrics_service.config import MetricsSettings
from metrics_service.models import Base, import_models
from shared.migrations import run_env

import_models()
run_env(Base.metadata, MetricsSettings)
