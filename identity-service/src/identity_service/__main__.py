"""``python -m identity_service``: serve the API (and, by default, the worker)."""

from identity_service.config import IdentitySettings
from identity_service.main import create_app
from shared.runtime import serve
from shared.settings import load_settings

if __name__ == "__main__":
    settings = load_settings(IdentitySettings)
    serve(create_app(settings), settings)
