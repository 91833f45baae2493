"""``python -m tagging_service.worker``: consumers and outbox relay without HTTP."""

from shared.runtime import run_worker
from shared.settings import load_settings
from tagging_service.config import TaggingSettings
from tagging_service.main import DEFINITION

if __name__ == "__main__":
    run_worker(DEFINITION, load_settings(TaggingSettings).model_copy(update={"run_worker": True}))
