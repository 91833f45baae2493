"""Alembic environment of the gateway."""

from gateway.config import GatewaySettings
from gateway.models import Base, import_models
from shared.migrations import run_env

import_models()
run_env(Base.metadata, GatewaySettings)
