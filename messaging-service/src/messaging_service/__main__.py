"""``python -m messaging_service``: serve the API (and, by default, the worker)."""

from messaging_service.config import MessagingSettings
from messaging_service.main import create_app
from shared.runtime import serve
from shared.settings import load_settings

if __name__ == "__main__":
    settings = load_settings(MessagingSettings)
    serve(create_app(settings), settings)
