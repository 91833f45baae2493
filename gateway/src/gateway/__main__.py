"""``python -m gateway``: serve the public API."""

from gateway.config import GatewaySettings
from shared.runtime import serve
from shared.settings import load_settings

if __name__ == "__main__":
    settings = load_settings(GatewaySettings)
    serve("gateway.main:create_app", settings)
