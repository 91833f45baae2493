"""``python -m gateway.worker``: the gateway's outbox relay without HTTP."""

from gateway.config import GatewaySettings
from gateway.main import definition
from shared.runtime import run_worker
from shared.settings import load_settings

if __name__ == "__main__":
    settings = load_settings(GatewaySettings).model_copy(update={"run_worker": True})
    run_worker(definition(settings), settings)
