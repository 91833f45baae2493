"""Alembic environment of tagging-service."""

from shared.migrations import run_env
from tagging_service.config import TaggingSettings
from tagging_service.models import Base, import_models

import_models()
run_env(Base.metadata, TaggingSettings)
