"""Alembic environment of tagging-service."""

from tagging_service.config import TaggingSettings
from tagging_service.models import Base, import_models
from shared.migrations import run_env

import_models()
run_env(Base.metadata, TaggingSettings)
