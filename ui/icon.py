"""The browser tab's icon, drawn here: a ':material/...' page icon makes the browser fetch it from Google's
font CDN, and the workbench must work (and stay quiet) without a network."""

from __future__ import annotations

import functools

from PIL import Image, ImageDraw

WARM, COLD = "#4c78a8", "#e4572e"


@functools.cache
def page_icon() -> Image.Image:
    """Three dots, as in a scatter of user vectors: two warm, one cold."""
    img = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    for (x, y), colour in (((18, 42), WARM), ((40, 20), WARM), ((46, 46), COLD)):
        draw.ellipse((x - 12, y - 12, x + 12, y + 12), fill=colour)
    return img
