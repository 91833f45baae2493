"""``python -m campaign_service.worker``: consumers and outbox relay without HTTP."""

from campaign_service.config import CampaignSettings
from campaign_service.main import DEFINITION
from shared.runtime import run_worker
from shared.settings import load_settings

if __name__ == "__main__":
    run_worker(DEFINITION, load_settings(CampaignSettings).model_copy(update={"run_worker": True}))
