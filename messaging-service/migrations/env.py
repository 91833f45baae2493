"""Alembic environment of messaging-service."""

from messaging_service.config import MessagingSettings
from messaging_service.models import Base, import_models
from shared.migrations import run_env

import_models()
run_env(Base.metadata, MessagingSettings)
