"""Template content → field keys and types (``活动名称:{{thing1.DATA}}`` → ``thing1``, ``thing``)."""

from __future__ import annotations

import re

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_]+?)(\d*)\.DATA\s*\}\}")


def parse_fields(content: str) -> list[dict[str, str]]:
    """The fields of a template in the order they appear, each with its label (text before it on its line)."""
    fields: list[dict[str, str]] = []
    seen: set[str] = set()
    for line in content.splitlines() or [content]:
        for match in _PLACEHOLDER.finditer(line):
            key = match.group(1) + match.group(2)
            if key in seen:
                continue
            seen.add(key)
            label = line[: match.start()].strip().rstrip(":：").strip()
            fields.append({"key": key, "type": match.group(1), "label": label})
    return fields
