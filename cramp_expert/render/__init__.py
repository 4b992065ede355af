"""Rendering helpers shared by every human-readable output (text, HTML, handouts, cards)."""

from cramp_expert.render.safe import visible

__all__ = ["visible"]
