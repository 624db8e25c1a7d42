"""Horizontal bar charts, laid out once and drawn as inline SVG (HTML) or PNG (DOCX, PDF).

``layout`` turns a :class:`~heard.io.reports.model.Chart` into rectangles and text at fixed
coordinates; ``to_svg`` and ``to_png`` only draw those shapes, so the two look the same.
Text is measured with a real font (DejaVu Sans when the system has it, else Pillow's
bundled font), and long category labels wrap to two lines.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

from PIL import Image, ImageDraw, ImageFont

from heard.io.reports.model import SECONDARY, TEXT, Chart

WIDTH = 760
FONT_SIZE = 13
LINE = 16
PAD = 8
BAR = 18
GROUP_BAR = 12
ROW_GAP = 12
LABEL_MAX = 260
VALUE_SPACE = 84
FONT_FAMILY = "'DejaVu Sans', Arial, Helvetica, sans-serif"
_FONT_FILES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/Library/Fonts/Arial.ttf",
    "C:/Windows/Fonts/arial.ttf",
)


@dataclass
class Rect:
    x: float
    y: float
    w: float
    h: float
    fill: str


@dataclass
class Text:
    x: float
    y: float  # baseline
    text: str
    fill: str = TEXT
    anchor: str = "start"  # "start" | "end" | "middle"
    bold: bool = False


@lru_cache(maxsize=8)
def _font(size: int = FONT_SIZE) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in _FONT_FILES:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


def text_width(text: str, size: int = FONT_SIZE) -> float:
    return float(_font(size).getlength(text))


def wrap(text: str, width: float, lines: int = 2) -> list[str]:
    """``text`` in at most ``lines`` lines of ``width`` pixels; the last is cut with "…"."""
    words = text.split()
    out: list[str] = []
    current = ""
    for i, word in enumerate(words):
        trial = f"{current} {word}".strip()
        if text_width(trial) <= width or not current:
            current = trial
            continue
        out.append(current)
        current = word
        if len(out) == lines - 1:
            current = " ".join(words[i:])
            break
    out.append(current)
    last = out[-1]
    if text_width(last) > width:
        while last and text_width(last + "…") > width:
            last = last[:-1]
        out[-1] = last.rstrip() + "…"
    return out[:lines]


def layout(chart: Chart) -> tuple[int, int, list[Rect | Text]]:
    """Width, height and shapes of ``chart``."""
    shapes: list[Rect | Text] = []
    labels = [wrap(c, LABEL_MAX) for c in chart.categories]
    label_w = min(LABEL_MAX, max((text_width(line) for ls in labels for line in ls), default=0))
    x0 = PAD + label_w + PAD
    plot_w = WIDTH - x0 - PAD - (0 if chart.kind == "stacked" else VALUE_SPACE)
    y = PAD
    if len(chart.series) > 1:  # legend
        x = x0
        for s in chart.series:
            w = 14 + 6 + text_width(s.name) + 18
            if x + w > WIDTH - PAD and x > x0:
                x = x0
                y += LINE + 4
            shapes.append(Rect(x, y + 2, 14, 14, s.colour))
            shapes.append(Text(x + 20, y + 13, s.name))
            x += w
        y += LINE + 12
    n_series = len(chart.series)
    bar_h = GROUP_BAR if chart.kind == "grouped" else BAR
    band = bar_h * (n_series if chart.kind == "grouped" else 1)
    top = max((v for s in chart.series for v in s.values), default=0) or 1
    axis_top = y
    for i, lines in enumerate(labels):
        row_h = max(band, LINE * len(lines))
        label_y = y + (row_h - LINE * len(lines)) / 2
        for j, line in enumerate(lines):
            shapes.append(Text(x0 - PAD, label_y + LINE * j + 12, line, anchor="end"))
        bar_y = y + (row_h - band) / 2
        if chart.kind == "stacked":
            x = x0
            for s in chart.series:
                w = plot_w * max(s.values[i], 0.0)
                if w > 0:
                    shapes.append(Rect(x, bar_y, w, bar_h, s.colour))
                    label = s.labels[i] if s.labels else ""
                    if label and text_width(label) + 6 < w:
                        shapes.append(
                            Text(x + w / 2, bar_y + bar_h - 5, label, "#ffffff", "middle", True)
                        )
                x += w
        else:
            for k, s in enumerate(chart.series):
                scale = 1.0 if chart.percent else top
                w = plot_w * (s.values[i] / scale if scale else 0.0)
                by = bar_y + (k * bar_h if chart.kind == "grouped" else 0)
                if w > 0:
                    colour = s.colours[i] if i < len(s.colours) else s.colour
                    shapes.append(Rect(x0, by, max(w, 1.0), bar_h - 2, colour))
                label = s.labels[i] if s.labels else f"{s.values[i]:g}"
                shapes.append(Text(x0 + w + 4, by + bar_h - 5, label, SECONDARY))
        y += row_h + ROW_GAP
    shapes.insert(0, Rect(x0 - 1, axis_top - 4, 1, y - axis_top - ROW_GAP + 8, SECONDARY))
    return WIDTH, int(y + PAD), shapes


def to_svg(chart: Chart) -> str:
    """The chart as an inline, self-contained SVG with its title and description."""
    width, height, shapes = layout(chart)
    key = escape(chart.key, {"\"": "&quot;"})  # it goes into attributes
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{key}-title {key}-desc" class="chart" '
        f'font-family="{FONT_FAMILY}" font-size="{FONT_SIZE}">',
        f'<title id="{key}-title">{escape(chart.title)}</title>',
        f'<desc id="{key}-desc">{escape(chart.alt)}</desc>',
    ]
    for s in shapes:
        if isinstance(s, Rect):
            parts.append(
                f'<rect x="{s.x:.1f}" y="{s.y:.1f}" width="{s.w:.1f}" height="{s.h:.1f}" '
                f'fill="{s.fill}"/>'
            )
        else:
            weight = ' font-weight="bold"' if s.bold else ""
            parts.append(
                f'<text x="{s.x:.1f}" y="{s.y:.1f}" fill="{s.fill}" '
                f'text-anchor="{s.anchor}"{weight}>{escape(s.text)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def to_png(chart: Chart, scale: int = 2) -> bytes:
    """The chart as a PNG, drawn at ``scale`` times its layout size for sharp printing."""
    width, height, shapes = layout(chart)
    image = Image.new("RGB", (width * scale, height * scale), "#ffffff")
    draw = ImageDraw.Draw(image)
    font = _font(FONT_SIZE * scale)
    for s in shapes:
        if isinstance(s, Rect):
            draw.rectangle(
                [s.x * scale, s.y * scale, (s.x + s.w) * scale - 1, (s.y + s.h) * scale - 1],
                fill=s.fill,
            )
        else:
            w = font.getlength(s.text)
            x = s.x * scale - {"start": 0, "middle": w / 2, "end": w}[s.anchor]
            draw.text(
                (x, s.y * scale),
                s.text,
                fill=s.fill,
                font=font,
                anchor="ls",
                stroke_width=1 if s.bold else 0,
                stroke_fill=s.fill,
            )
    out = io.BytesIO()
    # A small palette keeps flat charts small and quick to encode.
    image.convert("P", palette=Image.Palette.ADAPTIVE, colors=64).save(
        out, format="PNG", compress_level=6
    )
    return out.getvalue()
