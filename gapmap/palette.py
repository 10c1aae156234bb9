"""The one palette of every output: status and patchwork fills, text on them, and contrast.

Fills differ in lightness as well as hue, so they stay apart for colour-blind readers, in a
greyscale printout and on a washed-out projector: "Not met" is darkest, "Partly met" mid,
"Met" lightest, each at least 3:1 (WCAG 2.1 relative-luminance contrast, the threshold of
success criterion 1.4.11 for graphics needed to understand a page) from its neighbour on that
scale. "No data" sits between "Partly met" and "Met" in lightness and always carries its word
or "?" (and hatching in static maps). tests/test_colour.py checks these ratios on screenshots of
the web map and the static map, after simulating deuteranopia, protanopia and greyscale.
"""

from __future__ import annotations

__all__ = [
    "ADJACENT_CONTRAST",
    "DEMAND_COLOURS",
    "EVIDENCE_COLOURS",
    "EVIDENCE_CONTRAST",
    "EVIDENCE_ORDER",
    "EVIDENCE_SYMBOLS",
    "GAP_FILL",
    "GAP_WORD",
    "HAS_FILL",
    "NOWHERE_FILL",
    "NO_DATA_CONTRAST",
    "PATCHWORK_COLOURS",
    "PATCHWORK_SYMBOLS",
    "STATUS_COLOURS",
    "STATUS_SYMBOLS",
    "contrast_ratio",
    "relative_luminance",
    "text_on",
]

#: Status fills (keys as in the engine's `status`). Relative luminance about 0.016, 0.20,
#: 0.87 and 0.43: dark wine, burnt orange, pale green, mid grey.
STATUS_COLOURS: dict[str, str] = {
    "green": "#e5f5e0",
    "amber": "#c45c00",
    "red": "#4a0012",
    "no_data": "#b0b0b0",
}
#: Patchwork states of one tier x cohort cell: gap dark, nowhere mid grey, provided pale.
PATCHWORK_COLOURS: dict[str, str] = {
    "has": "#e5f5e0",
    "gap": "#4a0012",
    "nowhere": "#808080",
}
#: Demand rows read against an expected volume (Marac cases per 10,000 women 16+): as expected
#: pale, above it (pressure) burnt orange, below it (under-identification) dark navy; both
#: departures are concerns, so they differ from the pale fill by 3:1 or more and from each other
#: by lightness too (2.5:1 under simulated protanopia). "Required from demand" rows use the
#: status fills.
DEMAND_COLOURS: dict[str, str] = {"expected": "#e5f5e0", "high": "#c45c00", "low": "#16285a"}
#: Evidence-rated coverage of a cell, strongest first: lightest (the "Provided" pale green) to
#: darkest (the gap's dark wine), through mid orange and brown. Relative luminance about 0.87,
#: 0.33, 0.11 and 0.015; neighbours measure 2.2:1 or more also under simulated deuteranopia and
#: protanopia (tests/test_colour.py). Four steps cannot all reach 3:1 (black to white is 21:1,
#: whose cube root is 2.76), so every area also carries its word or symbol, and static maps hatch.
EVIDENCE_ORDER: tuple[str, ...] = ("high", "moderate", "low", "none")
EVIDENCE_COLOURS: dict[str, str] = {
    "high": "#e5f5e0",
    "moderate": "#d98a3a",
    "low": "#9c4500",
    "none": "#4a0012",
}
EVIDENCE_SYMBOLS: dict[str, str] = {"high": "★", "moderate": "◆", "low": "▽", "none": "✖", "no_data": "?"}
#: Minimum contrast between neighbouring evidence classes (see `EVIDENCE_COLOURS`).
EVIDENCE_CONTRAST: float = 2.0
#: The patchwork matrix of tables (workbook, pack): the gap mark and cell fills. Pale fills
#: keep the dark text readable; a gap cell is the darkest fill with white text (`text_on`).
GAP_WORD = "GAP"
GAP_FILL = STATUS_COLOURS["red"]
HAS_FILL = "#d9f0d3"
NOWHERE_FILL = "#d9d9d9"
#: A symbol per state, for labels too small for the word (shape, not colour, carries it).
STATUS_SYMBOLS: dict[str, str] = {
    "green": "✔",
    "amber": "◐",
    "red": "✖",
    "no_data": "?",
    "expected": "=",
    "high": "▲",
    "low": "▼",
    "info": "i",
}
PATCHWORK_SYMBOLS: dict[str, str] = {"has": "✔", "gap": "✖", "nowhere": "–", "no_data": "?"}
#: Minimum contrast between neighbouring classes of the ordered scale (Not met / Partly met /
#: Met; gap / nowhere / provided), and between "No data" and any other class.
ADJACENT_CONTRAST: float = 3.0
NO_DATA_CONTRAST: float = 1.5


def _linear(channel: float) -> float:
    return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str | tuple[float, float, float]) -> float:
    """WCAG relative luminance of '#rrggbb' or an (r, g, b) triple in 0-1 (sRGB)."""
    if isinstance(colour, str):
        h = colour.lstrip("#")
        rgb = tuple(int(h[i : i + 2], 16) / 255 for i in (0, 2, 4))
    else:
        rgb = tuple(float(c) for c in colour)
    r, g, b = (_linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: str | tuple[float, float, float], b: str | tuple[float, float, float]) -> float:
    """WCAG contrast ratio (1 to 21) between two colours."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_on(fill: str) -> str:
    """Near-black or white, whichever reads better on `fill`."""
    return "#ffffff" if contrast_ratio(fill, "#ffffff") > contrast_ratio(fill, "#111111") else "#111111"
