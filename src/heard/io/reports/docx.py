"""The report as a Word document (python-docx): headings, tables, PNG charts with alt text."""

from __future__ import annotations

import io

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.table import Table as DocxTable

from heard.io.reports import charts
from heard.io.reports.model import (
    STANCE_ORDER,
    Chart,
    ClosedSection,
    OpenSection,
    Report,
    Table,
    ThemeEntry,
    number,
    pct,
)

TEXT = RGBColor(0x0B, 0x0C, 0x0C)
SECONDARY = RGBColor(0x50, 0x5A, 0x5F)
BLUE = RGBColor(0x1D, 0x70, 0xB8)


def render_docx(report: Report) -> bytes:
    """The report as DOCX bytes."""
    doc = Document()
    _styles(doc)
    props = doc.core_properties
    props.title = f"{report.title}: consultation report"
    props.subject = "Analysis of consultation responses"
    props.author = f"Heard {report.heard_version}"
    props.language = "en-GB"

    _heading(doc, report.title, level=0)
    _note(
        doc,
        "Analysis of the responses to the consultation. Generated "
        f"{report.generated_at} by Heard {report.heard_version} from the "
        f"consultation “{report.name}”.",
    )
    if report.description:
        doc.add_paragraph(report.description)

    o = report.overview
    _heading(doc, "The consultation in numbers", level=1)
    for label, value in (
        ("responses with an answer", number(o.responses)),
        ("respondents", number(o.respondents)),
        ("open questions", str(o.open_questions)),
        ("closed questions", str(o.closed_questions)),
        ("campaigns", f"{len(o.campaigns)} ({number(o.campaign_responses)} responses)"),
    ):
        p = doc.add_paragraph(style=_style(doc, "List Bullet"))
        p.add_run(value).bold = True
        p.add_run(f" {label}")
    _table(doc, o.kinds)
    if o.groups:
        _table(doc, o.groups)
    if o.campaigns:
        _table(
            doc,
            Table(
                "Organised campaigns (form letters with personal edits)",
                ["Question", "Campaign text (start)", "Responses"],
                [[c.question, c.text, number(c.size)] for c in o.campaigns],
            ),
        )
    else:
        doc.add_paragraph("No organised campaigns were detected.")

    for section in report.sections:
        heading = section.key
        if section.text and section.text != section.key:
            heading += f": {section.text}"
        _heading(doc, heading, level=1)
        if isinstance(section, OpenSection):
            _open(doc, section, report.overview.grouping)
        else:
            _closed(doc, section)

    m = report.method
    _heading(doc, "Method and caveats", level=1)
    _heading(doc, "How AI was used", level=2)
    for paragraph in m.ai_use:
        doc.add_paragraph(paragraph)
    if m.llm:
        _table(doc, m.llm)
    if m.run:
        _table(doc, m.run)
    _heading(doc, "Human review and sign-off", level=2)
    _table(doc, m.review)
    _heading(doc, "Caveats", level=2)
    for caveat in m.caveats:
        doc.add_paragraph(caveat, style=_style(doc, "List Bullet"))

    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _open(doc, s: OpenSection, grouping: str) -> None:
    doc.add_paragraph(
        f"Open question. {number(s.responses)} responses: {number(s.substantive)} substantive, "
        f"{number(s.other)} matched no theme (“Other”), {number(s.empty)} with no substantive "
        "answer"
        + (
            f", {number(s.unprocessable)} could not be read (unprocessable)"
            if s.unprocessable
            else ""
        )
        + "."
        + (f" It follows the closed question {s.paired}." if s.paired else "")
    )
    p = doc.add_paragraph()
    p.add_run(f"{s.stage}. ").bold = True
    p.add_run(f"{s.signed_off}. {s.agreement.summary}")

    if s.summary:
        _heading(doc, "In brief", level=2)
        for sentence in s.summary:
            doc.add_paragraph(sentence.text)

    _heading(doc, "Themes", level=2)
    if s.theme_chart:
        _chart(doc, s.theme_chart)
    else:
        doc.add_paragraph("No themes yet: run the analysis first.")
    for theme in s.themes:
        _theme(doc, theme, level=3)
        for child in theme.children:
            _theme(doc, child, level=4)

    _heading(doc, "Stance", level=2)
    if s.stance_chart:
        _chart(doc, s.stance_chart)
    else:
        doc.add_paragraph("No stance was recorded for this question.")

    _heading(doc, "Evidence-rich responses", level=2)
    for h in s.highlights:
        _quote(doc, h.text)
        reason = f"Why it was flagged: {h.reason}"
        if h.themes:
            reason += ". Themes: " + "; ".join(h.themes)
        _note(doc, reason)
    if not s.highlights:
        doc.add_paragraph("No response to this question was flagged as evidence-rich.")

    if s.group_chart:
        _heading(doc, f"By {grouping}", level=2)
        _chart(doc, s.group_chart)

    if s.campaigns:
        _heading(doc, "Campaigns", level=2)
        for c in s.campaigns:
            doc.add_paragraph(
                f"{number(c.size)} responses: “{c.text}”", style=_style(doc, "List Bullet")
            )


def _theme(doc, t: ThemeEntry, level: int) -> None:
    _heading(doc, ("Sub-theme: " if level > 3 else "") + t.label, level=level)
    stats = f"{number(t.count)} responses ({t.share} of substantive responses)"
    if t.stance:
        whole = sum(t.stance.values())
        stats += "; stance: " + ", ".join(
            f"{label.lower()} {pct(t.stance.get(k, 0), whole)}" for k, label, _ in STANCE_ORDER
        )
    _note(doc, stats)
    if t.description:
        doc.add_paragraph(t.description)
    for q in t.quotes:
        _quote(doc, q)


def _closed(doc, s: ClosedSection) -> None:
    doc.add_paragraph(
        f"Closed question. {number(s.answered)} of {number(s.responses)} respondents chose at "
        "least one option."
    )
    if s.chart:
        _chart(doc, s.chart)
    else:
        doc.add_paragraph("No answers were recorded.")


# ---------------------------------------------------------------- building blocks


def _styles(doc) -> None:
    normal = doc.styles["Normal"]
    normal.font.name = "Arial"
    normal.font.size = Pt(10.5)
    normal.font.color.rgb = TEXT
    for name in ("Title", "Heading 1", "Heading 2", "Heading 3", "Heading 4"):
        style = doc.styles[name]
        style.font.name = "Arial"
        style.font.color.rgb = TEXT
    for section in doc.sections:
        section.left_margin = section.right_margin = Cm(2)


def _style(doc, name: str):
    """A paragraph style, looked up once per document (python-docx's lookup is slow)."""
    cache = vars(doc).setdefault("_heard_styles", {})
    if name not in cache:
        cache[name] = doc.styles[name]
    return cache[name]


def _heading(doc, text: str, level: int) -> None:
    doc.add_paragraph(text, style=_style(doc, "Title" if level == 0 else f"Heading {level}"))


def _note(doc, text: str) -> None:
    run = doc.add_paragraph().add_run(text)
    run.font.color.rgb = SECONDARY
    run.font.size = Pt(9.5)


def _quote(doc, text: str) -> None:
    p = doc.add_paragraph(f"“{text}”", style=_style(doc, "Quote"))
    p.paragraph_format.left_indent = Cm(0.8)


def _chart(doc, chart: Chart) -> None:
    """The chart as a PNG with alt text (title and description), then its data table."""
    caption = doc.add_paragraph()
    caption.add_run(chart.title).bold = True
    doc.add_picture(io.BytesIO(charts.to_png(chart)), width=Cm(16.5))
    picture = doc.paragraphs[-1]
    picture.alignment = WD_ALIGN_PARAGRAPH.LEFT
    for doc_pr in picture._p.iter(qn("wp:docPr")):
        doc_pr.set("descr", chart.alt)
        doc_pr.set("title", chart.title)
    _table(doc, chart.table)


def _table(doc, table: Table) -> DocxTable:
    """A table with a caption, a repeating header row and right-aligned numbers."""
    caption = doc.add_paragraph()
    caption.add_run(table.caption).bold = True
    caption.paragraph_format.keep_with_next = True
    out = doc.add_table(rows=1, cols=len(table.header))
    out.style = "Table Grid"
    header = out.rows[0]
    _repeat_header(header)
    for cell, text in zip(header.cells, table.header, strict=True):
        cell.text = ""
        cell.paragraphs[0].add_run(text).bold = True
    for row in table.rows:
        cells = out.add_row().cells
        for i, (cell, text) in enumerate(zip(cells, row, strict=True)):
            cell.text = str(text)
            if i:
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
            elif cell.paragraphs[0].runs:
                cell.paragraphs[0].runs[0].bold = True
    # Alt text for the table itself (Word's "Alt Text" on tables).
    tbl_pr = out._tbl.tblPr
    caption_el = OxmlElement("w:tblCaption")
    caption_el.set(qn("w:val"), table.caption[:250])
    tbl_pr.append(caption_el)
    doc.add_paragraph()
    return out


def _repeat_header(row) -> None:
    tr_pr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    tr_pr.append(el)
