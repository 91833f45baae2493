"""campaign-service's domain folders depend only downwards (style.md); this keeps it that way."""

from __future__ import annotations

import ast
from pathlib import Path

import campaign_service

# Bottom to top. A folder may import folders of its own or a lower layer, never a higher one.
LAYERS: list[set[str]] = [
    {"periods", "blocklist", "channels", "payments", "referrals", "clock"},
    {"registrations"},
    {"checkins", "communities"},
    {"settlement"},
    {"lifecycle"},
    {"queries"},
]
LAYER_OF = {folder: level for level, folders in enumerate(LAYERS) for folder in folders}
ROOT = Path(campaign_service.__file__).parent


def _imported_folders(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "campaign_service" and len(parts) > 1 and parts[1] in LAYER_OF:
                found.add(parts[1])
    return found


def test_every_domain_folder_has_a_layer():
    folders = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders <= set(LAYER_OF), f"place these in LAYERS: {sorted(folders - set(LAYER_OF))}"


def test_no_module_imports_one_above_it():
    upward = []
    for folder, level in LAYER_OF.items():
        for path in sorted((ROOT / folder).glob("*.py")):
            for target in _imported_folders(path):
                if LAYER_OF[target] > level:
                    upward.append(f"{folder}/{path.name} → {target}")
    assert not upward, "imports pointing up:\n" + "\n".join(upward)
