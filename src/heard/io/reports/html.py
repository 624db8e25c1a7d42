"""The report as one self-contained HTML file: inline CSS, inline SVG charts, no requests."""

from __future__ import annotations

import base64
from functools import lru_cache
from pathlib import Path

from django import template
from django.template import Context, Engine
from django.utils.safestring import SafeString, mark_safe

from heard.io.reports import charts
from heard.io.reports.model import STANCE_ORDER, Chart, Report, number, pct

TEMPLATES = Path(__file__).with_name("templates")

register = template.Library()


@register.filter(name="number")
def number_filter(value: int) -> str:
    """1234 → "1,234"."""
    return number(int(value or 0))


@register.simple_tag(takes_context=True)
def chart(context: Context, item: Chart) -> SafeString:
    """A figure with the chart (SVG on screen, PNG with alt text for print) and its table."""
    if context.get("print"):
        data = base64.b64encode(charts.to_png(item)).decode("ascii")
        figure = (
            f'<img src="data:image/png;base64,{data}" alt="{_attr(item.alt)}" '
            f'aria-describedby="{_attr(item.key)}-caption">'
        )
    else:
        figure = charts.to_svg(item)
    return mark_safe(
        _engine()
        .get_template("chart.html")
        .render(Context({"chart": item, "figure": mark_safe(figure)}))
    )


@register.simple_tag
def stance(counts: dict[str, int]) -> str:
    """ "agree 30%, disagree 27%, unclear 43%"."""
    whole = sum(counts.values())
    return ", ".join(
        f"{label.lower()} {pct(counts.get(k, 0), whole)}" for k, label, _ in STANCE_ORDER
    )


def _attr(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    )


@lru_cache(maxsize=1)
def _engine() -> Engine:
    return Engine(
        dirs=[str(TEMPLATES)],
        libraries={"report_tags": "heard.io.reports.html"},
        autoescape=True,
    )


def render_html(report: Report, *, print_version: bool = False) -> str:
    """The report as HTML; ``print_version`` adds page rules and uses PNG charts (for PDF)."""
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    if print_version:
        css += "\n" + (TEMPLATES / "print.css").read_text(encoding="utf-8")
    return (
        _engine()
        .get_template("report.html")
        .render(Context({"report": report, "css": mark_safe(css), "print": print_version}))
    )
