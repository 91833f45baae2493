"""``python -m tagging_service``: serve the API (and, by default, the worker)."""

from shared.runtime import serve
from shared.settings import load_settings
from tagging_service.config import TaggingSettings

if __name__ == "__main__":
    settings = load_settings(TaggingSettings)
    serve("tagging_service.main:create_app", settings)
