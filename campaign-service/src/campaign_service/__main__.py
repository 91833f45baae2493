"""``python -m campaign_service``: serve the API (and, by default, the worker)."""

from campaign_service.config import CampaignSettings
from shared.runtime import serve
from shared.settings import load_settings

if __name__ == "__main__":
    settings = load_settings(CampaignSettings)
    serve("campaign_service.main:create_app", settings)
