"""`heard report`: the report model and its HTML, DOCX and PDF renderings, checked on content."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from django.contrib.auth import get_user_model
from django.utils import timezone

from heard.cli import main
from heard.io.reports import ReportError, build_report, render
from heard.store.models import (
    Assignment,
    AuditEvent,
    Consultation,
    DuplicateGroup,
    Question,
    Respondent,
    Response,
    Run,
    Theme,
)
from heard.web.editing import edit_response

pytestmark = pytest.mark.django_db

PII_TEXT = (
    "Email jane.doe@example.com or call 07700 900123 about the crossing near SW1A 1AA; "
    "my NI number is AB123456C and card 4111 1111 1111 1111."
)
PII = ["jane.doe@example.com", "07700 900123", "SW1A 1AA", "AB123456C", "4111 1111 1111 1111"]
LABELS = ["Safety", "Road safety", "Crime", "Cost to the council"]
CHROMIUM = Path("/usr/bin/chromium")
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def make_consultation() -> Consultation:
    """40 respondents, a closed question and its open follow-up, analysed and reviewed."""
    c = Consultation.objects.create(name="parks", title="Future of Millbrook Park")
    lead = get_user_model().objects.create(username="lead1")
    q1 = Question.objects.create(
        consultation=c,
        key="q1",
        text="Do you agree with the plan?",
        kind="closed",
        options=["Agree", "Disagree", "Neither"],
        position=1,
    )
    q2 = Question.objects.create(
        consultation=c,
        key="q2",
        text="Why do you say that?",
        kind="open",
        position=2,
        paired_closed=q1,
        stage="mapping_reviewed",
        stage_changed_by=lead,
        stage_changed_at=timezone.now(),
    )
    run = Run.objects.create(
        consultation=c,
        kind="analyse",
        status="done",
        seed=3,
        finished_at=timezone.now(),
        params={"seed": 3, "embedder": "minilm"},
        versions={"heard": "0.1.0", "embedder": "minilm-test-v1"},
    )
    people = Respondent.objects.bulk_create(
        Respondent(
            consultation=c,
            key=f"r{i}",
            kind="individual" if i < 30 else "organisation",
            attributes={"region": "North" if i % 2 == 0 else "South"},
        )
        for i in range(40)
    )
    for i, person in enumerate(people):
        option = "Agree" if i < 22 else "Disagree" if i < 34 else "Neither" if i < 38 else None
        Response.objects.create(
            question=q1,
            respondent=person,
            options=[option] if option else [],
            is_empty=option is None,
            outcome="mapped" if option else "empty",
        )
    safety = Theme.objects.create(question=q2, run=run, key="t1", label="Safety", position=0)
    road = Theme.objects.create(
        question=q2,
        run=run,
        key="t1.1",
        label="Road safety",
        parent=safety,
        position=1,
        description="Safer crossings and slower traffic.",
        quotes=[
            {"response_id": 0, "text": PII_TEXT},
            {"response_id": 1, "text": "The new crossing makes my children safer."},
        ],
    )
    crime = Theme.objects.create(
        question=q2, run=run, key="t1.2", label="Crime", parent=safety, position=2
    )
    cost = Theme.objects.create(
        question=q2,
        run=run,
        key="t2",
        label="Cost to the council",
        position=3,
        quotes=[{"response_id": 16, "text": "The council cannot afford this."}],
    )
    campaign = DuplicateGroup.objects.create(
        question=q2,
        run=run,
        key="save-park",
        kind="campaign",
        canonical_text="Save our park from the cuts. Contact me on 07700 900456.",
        size=6,
    )
    for i, person in enumerate(people):
        if i < 10:
            text, theme, stance = (
                (PII_TEXT if i == 0 else f"Road safety matters {i}"),
                road,
                "agree",
            )
        elif i < 16:
            text, theme, stance = f"Less crime and vandalism near the park {i}", crime, "agree"
        elif i < 28:
            text, theme, stance = "The council cannot afford this." + " " * i, cost, "disagree"
        elif i < 34:
            text, theme, stance = "Save our park from the cuts.", cost, "disagree"
        elif i < 37:
            text, theme, stance = "I like turtles", None, "unclear"
        else:
            text, theme, stance = "", None, ""
        outcome = "mapped" if theme else ("other" if text else "empty")
        response = Response.objects.create(
            question=q2,
            respondent=person,
            text=text,
            is_empty=not text,
            outcome=outcome,
            outcome_reason="" if theme else "no theme is a confident match",
            stance=stance,
            evidence_rich=i == 3,
            evidence_reason="figure: '40 per cent'; lived experience: 'my son'" if i == 3 else "",
            group=campaign if 28 <= i < 34 else None,
            content_hash=f"h{i}",
        )
        if i == 3:
            response.text = "Accidents fell 40 per cent since the crossing; my son walks there."
            response.save()
        if theme:
            Assignment.objects.create(
                response=response,
                theme=theme,
                confidence=0.9,
                ai_original=True,
                run=run,
            )
        # Two responses coded one at a time by an analyst: 9 moved to Crime, 20 gains Road.
        if i == 9:
            edit_response(response, None, theme_ids=[crime.pk])
        if i == 20:
            edit_response(response, None, theme_ids=[cost.pk, road.pk])
    return c


@pytest.fixture
def parks() -> Consultation:
    return make_consultation()


# ---------------------------------------------------------------- the model


def test_model_counts_themes_stance_groups_and_agreement(parks):
    report = build_report(parks)
    assert report.overview.respondents == 40
    assert [c.size for c in report.overview.campaigns] == [6]
    assert report.overview.grouping == "Respondent type"  # 2 kinds; ties go to the kind
    closed, open_ = report.sections
    assert closed.kind == "closed" and closed.answered == 38
    assert closed.chart.categories == ["Agree", "Disagree", "Neither"]
    assert closed.chart.series[0].values == [22, 12, 4]

    assert open_.responses == 40 and open_.empty == 3 and open_.other == 3
    themes = {t.label: t for t in open_.themes}
    assert themes["Safety"].count == 17  # 0..15 plus the analyst's addition on 20
    assert {c.label: c.count for c in themes["Safety"].children} == {"Road safety": 10, "Crime": 7}
    assert themes["Cost to the council"].count == 18
    assert themes["Cost to the council"].stance == {"disagree": 18}
    assert themes["Safety"].stance == {"agree": 16, "disagree": 1}
    road = themes["Safety"].children[0]
    assert len(road.quotes) == 2 and "[EMAIL]" in road.quotes[0]
    crime = themes["Safety"].children[1]
    assert crime.quotes and all("crime" in q.lower() for q in crime.quotes)  # fallback quotes

    agreement = open_.agreement
    # Over the two coded responses: AI {road}, {cost}; analyst {crime}, {cost, road}.
    assert (agreement.kept, agreement.removed, agreement.added) == (1, 1, 2)
    assert agreement.responses_coded == 2
    assert agreement.f1 == pytest.approx(2 / 5)
    assert agreement.f1_without_other == pytest.approx(2 / 5)
    assert open_.signed_off.startswith("Mapping reviewed by lead1")

    group = open_.group_chart
    assert group.table.header == ["Theme", "Individual", "Organisation"]
    # Cost: respondents 16..33; individuals are 0..29 (30 substantive), organisations
    # 30..39 (7 substantive: 37..39 gave no answer).
    cost_row = next(r for r in group.table.rows if r[0] == "Cost to the council")
    assert cost_row[1:] == ["14 (47%)", "4 (57%)"]
    assert group.table.rows[-1] == ["Substantive responses", "30", "7"]
    assert [h.reason for h in open_.highlights] == [
        "figure: '40 per cent'; lived experience: 'my son'"
    ]
    caveats = " ".join(report.method.caveats)
    assert "3 responses matched no theme" in caveats and "3 gave no substantive answer" in caveats
    run_rows = dict(report.method.run.rows)
    assert run_rows["Version: embedder"] == "minilm-test-v1"


def test_group_by_attribute_and_one_question(parks):
    report = build_report(parks, "q2", group_by="region")
    assert [s.key for s in report.sections] == ["q2"]
    assert report.sections[0].group_chart.table.header == ["Theme", "North", "South"]
    with pytest.raises(ValueError, match="No question 'q9'"):
        build_report(parks, "q9")


def test_no_human_review_is_said(parks):
    AuditEvent.objects.all().delete()
    Question.objects.filter(key="q2").update(stage="draft")
    section = build_report(parks).sections[1]
    assert not section.agreement.reviewed
    assert "No human review yet" in section.agreement.summary
    html = render(build_report(parks), "html").decode()
    assert "No human review yet" in html


# ---------------------------------------------------------------- HTML


def test_html_is_self_contained_accessible_and_redacted(parks):
    html = render(build_report(parks), "html").decode()
    for label in LABELS:
        assert label in html
    assert "The council cannot afford this." in html
    for secret in PII + ["07700 900456"]:
        assert secret not in html
    assert "[EMAIL]" in html and "[CARD]" in html and "[POSTCODE]" in html
    # Every chart is an inline SVG with a title and description, followed by its data table.
    svgs = re.findall(r"<svg[^>]*role=\"img\"[^>]*>.*?</svg>", html, flags=re.S)
    assert len(svgs) == 4  # closed options, themes, stance, groups
    for svg in svgs:
        assert re.search(r"<title id=[^>]+>[^<]+</title><desc id=[^>]+>[^<]{20,}</desc>", svg)
    assert html.count("<table>") >= len(svgs) + 3
    assert "<caption>q2: responses per theme and sub-theme" in html
    assert '<th scope="row">— Road safety</th><td class="num">10</td>' in html
    # No external requests: nothing loads from a URL.
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert "micro-F1 0.40" in html


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium at /usr/bin/chromium")
def test_html_has_no_serious_axe_violations(parks, tmp_path):
    pytest.importorskip("playwright", reason="needs the test extra (playwright)")
    axe_module = pytest.importorskip("axe_playwright_python.sync_playwright")
    from playwright.sync_api import sync_playwright

    path = tmp_path / "report.html"
    path.write_bytes(render(build_report(parks), "html"))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        try:
            page = browser.new_page()
            page.goto(path.as_uri())
            assert page.locator("svg[role=img]").count() == 4
            result = axe_module.Axe().run(page)
        finally:
            browser.close()
    bad = [
        (v["id"], v["impact"], v["nodes"][0]["html"][:120])
        for v in result.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, bad


# ---------------------------------------------------------------- DOCX


def test_docx_content_alt_text_and_tables(parks):
    from docx import Document

    data = render(build_report(parks), "docx")
    doc = Document(io.BytesIO(data))
    text = "\n".join(p.text for p in doc.paragraphs)
    for label in LABELS:
        assert label in text
    assert "The council cannot afford this." in text
    for secret in PII:
        assert secret not in text
    assert "[EMAIL]" in text
    # Every picture carries alt text; every chart has a table.
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        xml = z.read("word/document.xml").decode()
    descrs = re.findall(r'<wp:docPr [^>]*descr="([^"]*)"', xml)
    assert len(descrs) == 4 and all(len(d) > 40 for d in descrs)
    assert "Grouped bar chart" in " ".join(descrs)
    tables = [[c.text for c in t.rows[0].cells] for t in doc.tables]
    assert ["Option", "Respondents", "Share of those answering"] in tables
    assert ["Theme", "Agree", "Disagree", "Unclear"] in tables
    closed = next(t for t in doc.tables if t.rows[0].cells[0].text == "Option")
    assert [[c.text for c in r.cells] for r in closed.rows[1:]] == [
        ["Agree", "22", "58%"],
        ["Disagree", "12", "32%"],
        ["Neither", "4", "11%"],
    ]


@pytest.mark.skipif(shutil.which("soffice") is None, reason="needs LibreOffice (soffice)")
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils (pdftotext)")
def test_docx_opens_in_libreoffice(parks, tmp_path):
    docx = tmp_path / "parks.docx"
    docx.write_bytes(render(build_report(parks), "docx"))
    profile = (tmp_path / "lo-profile").as_uri()
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation={profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(docx),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "parks.pdf"), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for label in LABELS + ["The consultation in numbers", "Method and caveats"]:
        assert label in text
    assert "jane.doe@example.com" not in text


# ---------------------------------------------------------------- PDF


def _pdf_tools() -> None:
    if shutil.which("pdftotext") is None or shutil.which("pdfinfo") is None:
        pytest.skip("needs poppler-utils (pdftotext, pdfinfo)")
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as exc:
        pytest.skip(f"needs the pdf extra and Pango: {exc}")


def test_pdf_is_tagged_searchable_and_complete(parks, tmp_path):
    _pdf_tools()
    pdf = tmp_path / "parks.pdf"
    pdf.write_bytes(render(build_report(parks), "pdf"))
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    assert int(re.search(r"Pages:\s+(\d+)", info).group(1)) > 1
    assert re.search(r"Tagged:\s+yes", info)
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    for label in LABELS + ["The consultation in numbers", "No substantive answer"]:
        assert label in text
    assert "jane.doe@example.com" not in text and "[EMAIL]" in text
    alts = _alt_texts(pdf)  # tagged figures carry the charts' alt text
    assert len(alts) == 4
    assert any(a.startswith("Bar chart of the 3 options of q1") for a in alts)


def _alt_texts(path: Path) -> list[str]:
    """The /Alt entries of a PDF's structure tree, compressed object streams included."""
    raw = path.read_bytes()
    parts = [raw]
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", raw, flags=re.S):
        try:
            parts.append(zlib.decompress(stream))
        except zlib.error:
            continue
    alts = []
    for hexa, literal in re.findall(
        rb"/Alt\s*(?:<([0-9a-fA-F]+)>|\(((?:[^()\\]|\\.)*)\))", b"\n".join(parts)
    ):
        alts.append(
            bytes.fromhex(hexa.decode()).decode("utf-16") if hexa else literal.decode("latin-1")
        )
    return alts


def test_pdf_without_weasyprint_says_what_to_install(parks, monkeypatch):
    monkeypatch.setitem(sys.modules, "weasyprint", None)
    with pytest.raises(ReportError, match=r"heard\[pdf\].*libpango"):
        render(build_report(parks), "pdf")


# ---------------------------------------------------------------- CLI


def test_cli_writes_each_format(parks, tmp_path):
    runner = CliRunner()
    for fmt in ("html", "docx"):
        out = tmp_path / f"parks.{fmt}"
        result = runner.invoke(main, ["report", "parks", "--format", fmt, "-o", str(out)])
        assert result.exit_code == 0, result.output
        assert f"Wrote {out}" in result.output
    assert "Cost to the council" in (tmp_path / "parks.html").read_text()
    bad = runner.invoke(main, ["report", "parks", "--question", "q9"])
    assert bad.exit_code != 0 and "No question 'q9'" in bad.output
    missing = runner.invoke(main, ["report", "nope"])
    assert missing.exit_code != 0 and "Known consultations: parks" in missing.output


# ---------------------------------------------------------------- the real pipeline


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_reports_on_the_analysed_demo(tmp_path):
    """sample-data → import → analyse → report in all three formats."""
    runner = CliRunner()

    def heard(*args: str) -> None:
        result = runner.invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output

    heard("sample-data", str(tmp_path / "d"), "--responses", "300", "--seed", "3")
    heard("import", str(tmp_path / "d"), "--consultation", "demo")
    heard("analyse", "demo", "--seed", "1", "--question", "q2")
    consultation = Consultation.objects.get(name="demo")
    report = build_report(consultation)
    q2 = next(s for s in report.sections if s.key == "q2")
    assert q2.themes and q2.theme_chart and q2.stance_chart
    label = q2.themes[0].label
    html = render(report, "html").decode()
    assert label in html and f">{q2.themes[0].count:,}<" in html
    heard("report", "demo", "--format", "docx", "-o", str(tmp_path / "demo.docx"))
    from docx import Document

    assert label in "\n".join(p.text for p in Document(tmp_path / "demo.docx").paragraphs)
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError):
        return
    if shutil.which("pdftotext"):
        heard("report", "demo", "--format", "pdf", "-o", str(tmp_path / "demo.pdf"))
        text = subprocess.run(
            ["pdftotext", str(tmp_path / "demo.pdf"), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert label.split()[0] in text


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_reports_of_a_wide_csv_consultation_render_in_every_format(tmp_path):
    """Found: a consultation imported as a wide CSV (a row per respondent, Citizen Space's
    shape) failed as a tagged PDF ("Table wrapper without a table", a WeasyPrint fault
    in tables split across pages, fixed in WeasyPrint 70)."""
    runner = CliRunner()

    def heard(*args: str) -> None:
        result = runner.invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output

    from heard.demo.generator import write_wide_csv

    heard("sample-data", str(tmp_path / "long"), "--responses", "2000", "--seed", "7")
    wide = tmp_path / "wide.csv"
    write_wide_csv(tmp_path / "long", wide)
    heard("import", str(wide), "--consultation", "wide")
    heard("analyse", "wide", "--embedder", "static")
    for fmt in ("html", "docx", "pdf"):
        if fmt == "pdf":
            try:
                import weasyprint  # noqa: F401
            except (ImportError, OSError):
                continue
        out = tmp_path / f"wide.{fmt}"
        heard("report", "wide", "--format", fmt, "-o", str(out))
        assert out.stat().st_size > 10_000
