"""``python -m tagging_service``: serve the API (and, by default, the worker)."""

from shared.runtime import serve
from shared.settings import load_settings
from tagging_service.config import TaggingSettings
from tagging_service.main import create_app

if __name__ == "__main__":
    settings = load_settings(TaggingSettings)
    serve(create_app(settings), settings)
