"""``python -m messaging_service.worker``: consumers and outbox relay without HTTP."""

from messaging_service.config import MessagingSettings
from messaging_service.main import DEFINITION
from shared.runtime import run_worker
from shared.settings import load_settings

if __name__ == "__main__":
    run_worker(DEFINITION, load_settings(MessagingSettings).model_copy(update={"run_worker": True}))
