"""``python -m identity_service``: serve the API (and, by default, the worker)."""

from identity_service.config import IdentitySettings
from shared.runtime import serve
from shared.settings import load_settings

if __name__ == "__main__":
    settings = load_settings(IdentitySettings)
    serve("identity_service.main:create_app", settings)
