"""Small helpers shared by several test modules."""

from __future__ import annotations

from typing import Any


def visible_conclusions(result: dict[str, Any]) -> set[str]:
    """What `concluded: X` held on in the engine: concluded by a fired rule and excluded by none."""
    concluded = {c for entry in result["trace"] for c in entry["asserted"]}
    excluded = {c for entry in result["trace"] for c in entry["excluded"]}
    return concluded - excluded
