"""Reuse a test module's actors from another test module without copying them."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def load_test_module(path: Path, name: str) -> ModuleType:
    """The module at ``path``, loaded once under ``name``.

    Tests are imported with ``--import-mode=importlib`` (no package, no
    ``sys.path`` entry), so a sibling test file cannot simply be imported;
    one stable name keeps its classes identical for every module that loads it.
    """
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]
