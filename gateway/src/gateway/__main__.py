"""``python -m gateway``: serve the public API."""

from gateway.config import GatewaySettings
from gateway.main import create_app
from shared.runtime import serve
from shared.settings import load_settings

if __name__ == "__main__":
    settings = load_settings(GatewaySettings)
    serve(create_app(settings), settings)
