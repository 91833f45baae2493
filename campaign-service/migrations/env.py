"""Alembic environment of campaign-service."""

from campaign_service.config import CampaignSettings
from campaign_service.models import Base, import_models
from shared.migrations import run_env

import_models()
run_env(Base.metadata, CampaignSettings)
