"""``python -m messaging_service``: serve the API (and, by default, the worker)."""

from messaging_service.config import MessagingSettings
from shared.runtime import serve
from shared.settings import load_settings

if __name__ == "__main__":
    settings = load_settings(MessagingSettings)
    serve("messaging_service.main:create_app", settings)
