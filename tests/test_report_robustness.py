"""Reports that cannot fail on valid data: generated consultations, every format.

Each case is one seeded consultation: imported from a wide CSV (a row per respondent, Citizen
Space's shape) or a long one (a row per answer), given themes, stances and outcomes as a run
would store them, then edited as analysts do (splits, merges, moves, relabels, deleted
themes, recoded responses). The data mixes what breaks layouts: empty questions, questions
with no themes, one-response themes, very long labels and quotes, Welsh, right-to-left
script and emoji, respondents without attributes. Every case renders as HTML and DOCX; a
handful also as PDF (slow). Each rendering must hold every question's heading, summary and
theme counts from the results model.
"""

from __future__ import annotations

import csv
import html
import io
import random
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from heard.demo.generator import write_wide_csv
from heard.io.reports import build_report, render
from heard.io.reports.model import Report, number
from heard.store.models import Assignment, Consultation, Question, Response, Run, Theme
from heard.web import editing
from tests.conftest import heard

pytestmark = pytest.mark.django_db(transaction=True)

HTML_CASES = 24  # seeds rendered as HTML and DOCX
PDF_SEEDS = (3, 7, 12, 21)  # of those, rendered as PDF too

WELSH = [
    "Rwy'n cytuno â'r cynnig oherwydd bydd yn gwella diogelwch ar y ffordd i'r ysgol.",
    "Dydw i ddim yn cytuno; mae'r gost yn ormod i'r cyngor a'r trethdalwyr.",
    "Mae angen mwy o fysiau a threnau yng nghefn gwlad Cymru, ŵyr ac ŷd.",
]
OTHER_SCRIPTS = [
    "أنا أوافق على هذا الاقتراح لأنه يحسن السلامة",  # Arabic, right to left
    "אני לא מסכים עם ההצעה הזאת",  # Hebrew, right to left
    "Great idea 👍🏽 but the buses 🚌 are late 😤 and the cost 💷 is too high",
    "Zażółć gęślą jaźń — naïve café déjà vu, Straße, Ærø",
    "这个计划会让街道更安全",
]
ENGLISH = [
    "The crossing makes my children safer on the way to school.",
    "The council cannot afford this while it cuts other services.",
    "More buses and trains would help people without a car.",
    "I like the plan but worry about deliveries to the shops.",
    "Traffic has moved to the main road and made it worse.",
]
BLANKS = ["", "n/a", "No comment"]
QUESTION_TEXTS = [
    "Do you agree with the proposal?",
    "Ydych chi'n cytuno â'r cynnig? Esboniwch pam.",
    "Why do you say that? " + "Please tell us as much as you can about your reasons. " * 6,
    "What would you change 🤔 — ما رأيك؟",
    "Any other comments on the scheme, the consultation or anything else?",
]
LABELS = [
    "Safety", "Cost to the council", "Diogelwch ar y ffordd", "Buses 🚌", "السلامة",
    # as long as a label can be stored (Theme.label holds 200 characters)
    ("Traffic displaced onto the main road, especially at school times and in the evening "
     "rush hour, with knock-on effects for bus reliability and for deliveries " * 3)[:200],
    "A", "Other concerns & <angle> “quotes”",
]


def long_text(rng: random.Random) -> str:
    words = " ".join(rng.choice(ENGLISH + WELSH) for _ in range(rng.randint(15, 40)))
    return words + " " + "Supercalifragilistic" * rng.randint(0, 8)


def answer(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.15:
        return rng.choice(BLANKS)
    if roll < 0.3:
        return rng.choice(WELSH)
    if roll < 0.45:
        return rng.choice(OTHER_SCRIPTS)
    if roll < 0.55:
        return long_text(rng)
    return rng.choice(ENGLISH) + f" ({rng.randint(1, 999)})"


@dataclass
class Case:
    seed: int
    layout: str  # "wide" or "long"
    consultation: Consultation


def write_input(rng: random.Random, folder: Path, layout: str) -> Path:
    """A consultation's responses as a wide or long CSV, with or without attributes."""
    n_open = rng.randint(1, 3)
    texts = rng.sample(QUESTION_TEXTS[1:], n_open)
    questions = {"q1": QUESTION_TEXTS[0]} | {f"q{i + 2}": t for i, t in enumerate(texts)}
    people = rng.choice([1, 3, 12, 30, 45, 150])
    attributes = rng.choice([[], ["Region"], ["Region", "Organisation name"]])
    silent = rng.choice(list(questions)[1:]) if rng.random() < 0.3 else None  # nobody answers
    rows = []
    for i in range(people):
        person = {"Response ID": f"R{1000 + i}"}
        if "Region" in attributes:
            person["Region"] = rng.choice(["Gogledd Cymru", "South", "Île-de-France", ""])
        if "Organisation name" in attributes:
            person["Organisation name"] = rng.choice(["", "", "Cyngor Tref 🏛"])
        answers = {"q1": rng.choice(["Agree", "Disagree", "Neither", ""])}
        for key in list(questions)[1:]:
            answers[key] = "" if key == silent else answer(rng)
        rows.append((person, answers))
    folder.mkdir(parents=True)
    if layout == "wide":
        path = folder / "responses.csv"
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["Response ID", *attributes, *questions.values()])
            for person, answers in rows:
                writer.writerow([person["Response ID"], *(person[a] for a in attributes),
                                 *(answers[k] for k in questions)])
        return path
    with open(folder / "questions.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["question_id", "text"])
        writer.writerows(questions.items())
    with open(folder / "responses.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["response_id", "question_id", "text", *attributes])
        for person, answers in rows:
            for key, text in answers.items():
                writer.writerow([person["Response ID"], key, text,
                                 *(person[a] for a in attributes)])
    return folder


def analyse(rng: random.Random, consultation: Consultation) -> None:
    """Themes, assignments, stance and outcomes as a run stores them (some questions none)."""
    run = Run.objects.create(consultation=consultation, kind="analyse", status="done", seed=0)
    for question in consultation.questions.filter(kind=Question.Kind.OPEN):
        responses = list(question.responses.order_by("id"))
        with_stance = rng.random() < 0.6
        n_themes = rng.choice([0, 1, 2, 4, 6, 30]) if responses else 0
        themes: list[Theme] = []
        for t in range(n_themes):
            parent = rng.choice([None, None, *[x for x in themes if x.parent_id is None]])
            themes.append(Theme.objects.create(
                question=question, run=run, key=f"t{t}", label=rng.choice(LABELS),
                description=rng.choice(["", rng.choice(WELSH), long_text(rng)]),
                parent=parent, position=t,
                quotes=[{"response_id": 0, "text": long_text(rng)}] if rng.random() < 0.3
                else [],
            ))
        leaves = [t for t in themes if not any(c.parent_id == t.id for c in themes)] or themes
        for i, response in enumerate(responses):
            fields: dict = {}
            if response.is_empty or response.text in BLANKS:
                fields["outcome"] = "empty"
            elif i % 11 == 7:
                fields.update(outcome="unprocessable", outcome_reason="the PDF is encrypted")
            else:
                chosen = rng.sample(leaves, rng.randint(0, min(2, len(leaves))))
                if i == 0 and leaves:
                    chosen = [leaves[-1]]  # a theme with one response
                    leaves = leaves[:-1] or leaves
                for theme in chosen:
                    Assignment.objects.create(response=response, theme=theme, run=run,
                                              ai_original=True, confidence=rng.random())
                fields["outcome"] = "mapped" if chosen else "other"
                if with_stance:
                    fields["stance"] = rng.choice(["agree", "disagree", "unclear"])
                fields["evidence_rich"] = rng.random() < 0.2
                fields["evidence_reason"] = "figure: '40 per cent'" if fields[
                    "evidence_rich"] else ""
            Response.objects.filter(pk=response.pk).update(**fields)


def edit(rng: random.Random, consultation: Consultation) -> None:
    """Analysts' edits through the audited editing functions; invalid ones are refused."""
    user = get_user_model().objects.get_or_create(username="analyst")[0]
    for _ in range(rng.randint(0, 14)):
        themes = list(Theme.objects.filter(question__consultation=consultation))
        if not themes:
            return
        theme = rng.choice(themes)
        action = rng.choice(["split", "merge", "move", "relabel", "delete", "recode", "add"])
        try:
            if action == "split":
                ids = list(Assignment.objects.filter(theme=theme, is_active=True)
                           .values_list("response_id", flat=True))
                if ids:
                    editing.split_theme(theme, None, rng.sample(ids, rng.randint(1, len(ids))),
                                        user, rng.choice(LABELS))
            elif action == "merge":
                others = [t for t in themes if t.question_id == theme.question_id and t != theme]
                if others:
                    editing.merge_themes(theme, None, rng.sample(others, 1), user)
            elif action == "move":
                tops = [t for t in themes if t.question_id == theme.question_id
                        and t.parent_id is None and t != theme]
                editing.move_theme(theme, None, user,
                                   parent=rng.choice([None, *tops]), direction="up")
            elif action == "relabel":
                editing.update_theme(theme, None, user, label=rng.choice(LABELS + WELSH))
            elif action == "delete":
                editing.delete_theme(theme, None, user)
            elif action == "add":
                editing.add_theme(theme.question, user, rng.choice(LABELS))
            else:
                response = theme.question.responses.exclude(outcome="empty").first()
                if response is not None:
                    ids = [t.id for t in themes if t.question_id == theme.question_id]
                    editing.edit_response(response, user,
                                          theme_ids=rng.sample(ids, rng.randint(0, len(ids))),
                                          stance=rng.choice(["agree", "disagree", ""]))
        except editing.EditError:
            pass  # refused as an analyst would see it; the data stays valid


def make_case(seed: int, tmp_path: Path) -> Case:
    rng = random.Random(seed)
    layout = "wide" if seed % 2 else "long"
    source = write_input(rng, tmp_path / f"in-{seed}", layout)
    name = f"case{seed}"
    heard("import", str(source), "--consultation", name)
    consultation = Consultation.objects.get(name=name)
    analyse(rng, consultation)
    edit(rng, consultation)
    return Case(seed, layout, consultation)


# ---------------------------------------------------------------- checks


def expected(report: Report) -> list[str]:
    """Texts every rendering must hold: headings, summaries, theme counts."""
    wanted = ["The consultation in numbers", "Method and caveats"]
    for s in report.sections:
        wanted.append(s.key)
        if s.kind == "open":
            wanted += [x.text for x in s.summary]
            wanted += [f"{number(t.count)} responses ({t.share} of substantive responses)"
                       for t in s.themes]
    return wanted


def docx_text(data: bytes) -> str:
    from docx import Document

    document = Document(io.BytesIO(data))
    cells = [c.text for t in document.tables for r in t.rows for c in r.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def check_report(case: Case, formats: tuple[str, ...]) -> None:
    report = build_report(case.consultation)
    assert len(report.sections) == case.consultation.questions.exclude(
        kind=Question.Kind.DEMOGRAPHIC).count()
    wanted = expected(report)
    for fmt in formats:
        data = render(report, fmt)
        assert data, fmt
        if fmt == "html":
            text = html.unescape(re.sub(r"<[^>]+>", "", data.decode("utf-8")))
        elif fmt == "docx":
            text = docx_text(data)
        else:
            text = pdf_text(data)
        flat = " ".join(text.split())
        for item in wanted:
            item = " ".join(item.split())
            if fmt == "pdf" and not latin(item):
                continue  # text extraction reorders right-to-left runs, emoji and CJK
            assert item in flat, (case.seed, case.layout, fmt, item)


def latin(text: str) -> bool:
    """Only Latin letters (Welsh and other accents included) and typographic punctuation."""
    return all(ord(c) < 0x250 or c in "“”‘’–—…" for c in text)


def pdf_text(data: bytes) -> str:
    return subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True,
                          check=True).stdout.decode("utf-8")


@pytest.mark.parametrize("seed", range(HTML_CASES))
def test_html_and_docx_render_every_generated_consultation(seed, tmp_path):
    check_report(make_case(seed, tmp_path), ("html", "docx"))


@pytest.mark.slow
@pytest.mark.parametrize("seed", PDF_SEEDS)
def test_pdf_renders_generated_consultations(seed, tmp_path):
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError):
        pytest.skip("WeasyPrint or Pango is not installed")
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) is not installed")
    check_report(make_case(seed, tmp_path), ("pdf",))


@pytest.mark.slow
def test_an_analysed_wide_csv_consultation_after_edits_renders_in_every_format(tmp_path):
    """The issue's case: a wide CSV, analysed, then edited by analysts, printed as PDF."""
    heard("sample-data", str(tmp_path / "long"), "--responses", "400", "--seed", "5")
    write_wide_csv(tmp_path / "long", tmp_path / "wide.csv")
    heard("import", str(tmp_path / "wide.csv"), "--consultation", "wide")
    heard("analyse", "wide", "--embedder", "static", "--seed", "1")
    consultation = Consultation.objects.get(name="wide")
    assert Theme.objects.filter(question__consultation=consultation).exists()
    for seed in range(3):
        edit(random.Random(seed), consultation)
    assert consultation.audit.exists()
    formats = ("html", "docx", "pdf") if shutil.which("pdftotext") else ("html", "docx")
    check_report(Case(0, "wide", consultation), formats)
