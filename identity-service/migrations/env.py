"""Alembic environment of identity-service."""

from identity_service.config import IdentitySettings
from identity_service.models import Base, import_models
from shared.migrations import run_env

import_models()
run_env(Base.metadata, IdentitySettings)
