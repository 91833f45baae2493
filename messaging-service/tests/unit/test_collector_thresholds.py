"""The process's cyclic collector runs less often than CPython's default (messaging_service.main)."""

import asyncio
import gc

from messaging_service.main import DEFINITION, YOUNG_COLLECTION_THRESHOLD


def test_start_up_raises_the_young_collection_threshold() -> None:
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        hooks = [hook for hook in DEFINITION.on_startup if hook.__module__ == "messaging_service.main"]
        assert hooks, "the thresholds are set by one of the app's start-up hooks"
        for hook in hooks:
            asyncio.run(hook(None))  # type: ignore[arg-type]
        assert gc.get_threshold() == YOUNG_COLLECTION_THRESHOLD
        assert YOUNG_COLLECTION_THRESHOLD[0] >= 10_000
    finally:
        gc.set_threshold(*before)
