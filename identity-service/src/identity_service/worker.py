"""``python -m identity_service.worker``: consumers and outbox relay without HTTP."""

from identity_service.config import IdentitySettings
from identity_service.main import DEFINITION
from shared.runtime import run_worker
from shared.settings import load_settings

if __name__ == "__main__":
    run_worker(DEFINITION, load_settings(IdentitySettings).model_copy(update={"run_worker": True}))
