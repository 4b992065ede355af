"""Rendering helpers shared by every human-readable output (text, HTML, handouts, cards)."""

from cramp_expert.render.safe import unsafe_characters, visible, visible_lines

__all__ = ["unsafe_characters", "visible", "visible_lines"]
