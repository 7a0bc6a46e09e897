"""What a Textual app under the pilot shows, as plain text lines (what a terminal would)."""

from __future__ import annotations

from textual.app import App


def screen_lines(app: App) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]
