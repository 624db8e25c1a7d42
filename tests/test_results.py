"""The results model, and every surface showing the same numbers as it.

The probes reproduce disagreements found between surfaces: a theme's share with
unprocessable responses present (CLI and web said 40%, the report 50%), parent themes adding
up their sub-themes' stance and evidence, "No substantive answer" counted two ways, and the
home page counting demographic columns as questions.
"""

from __future__ import annotations

import ast
import csv
import html
import io
import json
import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from heard.io.reports import build_report, render
from heard.results import (
    ConsultationResults,
    QuestionResults,
    agreement,
    choose_grouping,
    consultation_results,
    group_breakdown,
    question_results,
)
from heard.store.models import (
    Assignment,
    Consultation,
    Membership,
    Question,
    Respondent,
    Response,
    Run,
    Theme,
)
from tests.conftest import heard

SRC = Path(__file__).resolve().parents[1] / "src" / "heard"



def signed_in(client, consultation: Consultation):
    user = get_user_model().objects.create(username=f"lead-{consultation.name}")
    Membership.objects.create(user=user, consultation=consultation, role="lead")
    client.force_login(user)
    return client


def url(name: str, consultation: str, **kwargs) -> str:
    return reverse(f"heard:{name}", kwargs={"name": consultation, **kwargs})


def percent_matches(text: str, value: float) -> bool:
    """A presenter's whole percentage ("81%", "<1%") is the model's share, rounded."""
    text = html.unescape(text).strip()
    if text == "<1%":
        return 0 < value < 0.01
    return abs(float(text.rstrip("%")) - 100 * value) <= 0.5 + 1e-9


# ---------------------------------------------------------------- the probe consultation


def build_probe() -> Consultation:
    """20 respondents, two demographic columns, a closed question and its open follow-up.

    q2: 13 responses carry both sub-themes of "Transport" (stance 5/5/3, 6 evidence-rich),
    2 carry "Cost", 1 is Other, 2 are unreadable documents, 1 says "n/a" and 1 is blank.
    """
    c = Consultation.objects.create(name="probe", title="Probe consultation")
    q1 = Question.objects.create(consultation=c, key="q1", text="Do you agree?", kind="closed",
                                 options=["Agree", "Disagree"], position=1)
    q2 = Question.objects.create(consultation=c, key="q2", text="Why?", kind="open",
                                 position=2, paired_closed=q1)
    for position, key in enumerate(("region", "age"), start=3):
        Question.objects.create(consultation=c, key=key, text=key, kind="demographic",
                                options=["a", "b"], position=position)
    run = Run.objects.create(consultation=c, kind="analyse", status="done")
    transport = Theme.objects.create(question=q2, run=run, key="t1", label="Transport")
    buses = Theme.objects.create(question=q2, run=run, key="t1.1", label="Buses",
                                 parent=transport, position=1)
    trains = Theme.objects.create(question=q2, run=run, key="t1.2", label="Trains",
                                  parent=transport, position=2)
    cost = Theme.objects.create(question=q2, run=run, key="t2", label="Cost", position=3)
    for i in range(20):
        person = Respondent.objects.create(
            consultation=c, key=f"r{i}", kind="individual" if i % 2 else "organisation",
            attributes={"region": "a" if i < 10 else "b", "age": "b"},
        )
        Response.objects.create(question=q1, respondent=person, options=["Agree"],
                                outcome="mapped")
        if i < 13:
            fields = {"text": f"More buses and trains please {i}", "outcome": "mapped",
                      "stance": "agree" if i < 5 else "disagree" if i < 10 else "unclear",
                      "evidence_rich": i < 6}
        elif i < 15:
            fields = {"text": f"It costs too much {i}", "outcome": "mapped", "stance": "disagree"}
        elif i == 15:
            fields = {"text": "I like turtles", "outcome": "other", "stance": "unclear"}
        elif i < 18:
            fields = {"text": "", "is_empty": True, "outcome": "unprocessable",
                      "outcome_reason": "the PDF is encrypted"}
        elif i == 18:
            fields = {"text": "n/a", "outcome": "empty", "outcome_reason": "too short"}
        else:
            fields = {"text": "", "is_empty": True, "outcome": "empty"}
        response = Response.objects.create(question=q2, respondent=person, **fields)
        themes = [buses, trains] if i < 13 else [cost] if i < 15 else []
        for theme in themes:
            Assignment.objects.create(response=response, theme=theme, ai_original=True, run=run)
    return c


@pytest.fixture
def probe(db) -> Consultation:
    return build_probe()


def theme_rows(page: str) -> dict[int, tuple[int, str, tuple[int, int, int], int]]:
    """The question page's theme table: id -> (count, share, stance split, evidence-rich)."""
    rows = {}
    for tid, count, pct, cell, rich in re.findall(
        r'href="\?theme=(\d+)">.*?</th>\s*<td[^>]*>(\d+)</td>\s*<td[^>]*>([^<]*)</td>'
        r'\s*<td class="govuk-table__cell">(.*?)</td>\s*<td[^>]*>(\d+)</td>',
        page, flags=re.S,
    ):
        # a question that asks for no position shows no stance split (all zero)
        split = re.search(r'<span class="govuk-body-s">(\d+) / (\d+) / (\d+)</span>', cell)
        a, d, u = split.groups() if split else (0, 0, 0)
        rows[int(tid)] = (int(count), pct, (int(a), int(d), int(u)), int(rich))
    return rows


def report_table(page: str, caption: str) -> list[list[str]]:
    """The rows of the report table whose caption starts with ``caption``."""
    match = re.search(r"<caption>" + re.escape(caption) + r".*?</caption>(.*?)</table>", page,
                      flags=re.S)
    assert match, caption
    body = match.group(1).split("<tbody>")[1]
    return [[html.unescape(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)]


# ---------------------------------------------------------------- regression probes


def test_share_ignores_unprocessable_responses_everywhere(probe, client):
    q2 = Question.objects.get(key="q2")
    result = question_results(q2)
    assert result.outcomes.as_dict() == {"mapped": 15, "other": 1, "empty": 2,
                                         "unprocessable": 2, "pending": 0}
    assert result.base == 16
    parent = next(t for t in result.themes if t.key == "t1")
    assert parent.share == pytest.approx(13 / 16)  # not 13 / 18: unreadable ones are out

    cli = json.loads(heard("themes", "probe", "--json"))[0]
    assert {t["key"]: t["share"] for t in cli["themes"]} == {
        t.key: t.share for t in result.themes}
    page = signed_in(client, probe).get(url("question", "probe", qid=q2.pk)).content.decode()
    assert percent_matches(theme_rows(page)[parent.id][1], parent.share)
    report = render(build_report(probe), "html").decode()
    rows = report_table(report, "q2: responses per theme")
    transport = next(r for r in rows if r[0] == "Transport")
    assert transport[1] == "13" and percent_matches(transport[2], parent.share)


def test_parent_counts_its_own_distinct_responses(probe, client):
    q2 = Question.objects.get(key="q2")
    by_key = {t.key: t for t in question_results(q2).themes}
    parent = by_key["t1"]
    assert parent.count == 13 and by_key["t1.1"].count == 13 and by_key["t1.2"].count == 13
    assert parent.stance == {"agree": 5, "disagree": 5, "unclear": 3}  # not 10/10/6
    assert parent.evidence_rich == 6  # not 12

    # Filtered on the parent: 13 matches, and its row counts each of them once.
    page = signed_in(client, probe).get(
        url("question", "probe", qid=q2.pk) + f"?theme={parent.id}").content.decode()
    assert re.search(r"<strong>13</strong> responses match your filters", page)
    assert theme_rows(page)[parent.id] == (13, "100%", (5, 5, 3), 6)  # of the 13 filtered
    stance = report_table(render(build_report(probe), "html").decode(), "q2: stance overall")
    assert next(r for r in stance if r[0] == "Transport")[1:] == ["5 (38%)", "5 (38%)",
                                                                   "3 (23%)"]
    groups = group_breakdown(question_results(q2), choose_grouping(probe, "kind"))
    assert sum(groups.count("t1", g) for g, _ in groups.groups) == 13


def test_no_substantive_answer_is_one_number(probe, client):
    q2 = Question.objects.get(key="q2")
    empty = question_results(q2).outcomes.empty
    assert empty == 2  # "n/a" and the blank one; the unreadable documents are unprocessable
    page = signed_in(client, probe).get(url("overview", "probe")).content.decode()
    row = re.search(r">q2</a>.*?</th>\s*<td[^>]*>(\d+)</td>\s*<td[^>]*>(\d+)</td>", page,
                    flags=re.S)
    assert row and (int(row.group(1)), int(row.group(2))) == (20, empty)
    show = json.loads(heard("show", "probe", "--json"))
    assert next(q for q in show["questions"] if q["id"] == "q2")["outcomes"]["empty"] == empty
    status = json.loads(heard("status", "probe", "--json"))
    assert next(q for q in status["questions"] if q["id"] == "q2")["empty"] == empty


def test_home_counts_questions_not_demographic_columns(probe, client):
    results = consultation_results(probe)
    assert results.questions == 2 and len(results.demographics) == 2
    page = signed_in(client, probe).get(reverse("heard:home")).content.decode()
    cells = re.search(r"Probe consultation</a></th>\s*<td[^>]*>(\d+)</td>\s*<td[^>]*>(\d+)</td>",
                      page)
    assert cells and (int(cells.group(1)), int(cells.group(2))) == (2, 20)


def test_blank_answers_count_as_empty_before_the_analysis(probe):
    q2 = Question.objects.get(key="q2")
    Response.objects.filter(question=q2).update(outcome="pending")
    outcomes = question_results(q2).outcomes
    assert (outcomes.empty, outcomes.pending) == (3, 17)  # the two documents and the blank
    assert outcomes.base == 0


def test_agreement_is_scored_by_the_metrics_module(probe):
    q2 = Question.objects.get(key="q2")
    from heard.web.editing import edit_response

    response = Response.objects.filter(question=q2, text__startswith="More buses").first()
    ai = set(Assignment.objects.filter(response=response).values_list("theme__key", flat=True))
    assert "t1.2" in ai and "t2" not in ai
    chosen = (ai - {"t1.2"}) | {"t2"}  # the analyst drops one theme and adds another
    edit_response(response, None, theme_ids=list(
        Theme.objects.filter(question=q2, key__in=chosen).values_list("id", flat=True)))
    result = agreement(q2, n_boot=50)
    kept = len(ai) - 1
    assert (result.kept, result.removed, result.added, result.reviewed) == (kept, 1, 1, 1)
    assert result.f1 == pytest.approx(2 * kept / (2 * kept + 2))
    assert result.overall["micro_f1"] == result.f1 == result.without_other["micro_f1"]
    section = build_report(probe).sections[1]
    assert section.agreement.f1 == result.f1
    assert section.agreement.f1_without_other == result.without_other["micro_f1"]


def test_reports_read_the_results_model_only():
    """io/reports imports nothing from the store or the ORM (type hints aside)."""
    for path in (SRC / "io" / "reports").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        guarded = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                   and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
        for node in ast.walk(tree):
            if id(node) in guarded or not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [
                a.name for a in node.names]
            for name in names:
                assert not name.startswith(("heard.store", "heard.pipeline", "django.db")), (
                    f"{path.name} imports {name}")


# ---------------------------------------------------------------- every surface, one fixture


def expected_theme_rows(q: QuestionResults) -> list[tuple[int, float]]:
    """(count, share) in the report's order: roots by size, each followed by its children."""
    roots = sorted(q.roots, key=lambda t: -t.count)
    rows = []
    for root in roots:
        rows.append((root.count, root.share))
        rows += [(c.count, c.share) for c in sorted(q.children(root), key=lambda t: -t.count)]
    return rows


def check_cli(results: ConsultationResults) -> None:
    themes = {q["question"]: q for q in json.loads(heard("themes", "demo", "--json"))}
    show = {q["id"]: q for q in json.loads(heard("show", "demo", "--json"))["questions"]}
    status = json.loads(heard("status", "demo", "--json"))
    assert status["respondents"] == results.respondents
    assert status["responses"] == results.responses
    by_status = {q["id"]: q for q in status["questions"]}
    assert list(by_status) == results.order
    for q in results.open:
        cli = themes[q.key]
        assert cli["outcomes"] == q.outcomes.as_dict() == show[q.key]["outcomes"]
        assert cli["base"] == q.base and cli["other_share"] == q.other_share
        assert [(t["key"], t["count"], t["share"], t["stance"], t["evidence_rich"])
                for t in cli["themes"]] == [
            (t.key, t.count, t.share, t.stance, t.evidence_rich) for t in q.themes]
        assert show[q.key]["stance"] == q.stance
        assert show[q.key]["evidence_rich"] == q.evidence_rich
        assert len(show[q.key]["campaigns"]) == len(q.campaigns)
        assert (by_status[q.key]["responses"], by_status[q.key]["empty"]) == (
            q.total, q.outcomes.empty)
    for c in results.closed:
        assert show[c.key]["answered"] == c.answered and show[c.key]["options"] == dict(c.chosen)
        assert by_status[c.key]["responses"] == c.total

    # The text table: every count and share, row by row (labels may wrap; numbers do not).
    text = heard("themes", "demo")
    shown = [(int(cells[1]), cells[2]) for cells in (
        [c.strip() for c in line.split("│")[1:-1]] for line in text.splitlines()
        if line.startswith("│")) if cells[1]]
    wanted = []
    for q in results.open:
        wanted += [(t.count, t.share) for t in q.themes]
        wanted += [(q.outcomes.other, q.other_share)] if q.outcomes.other else []
        wanted += [(n, None) for n in (q.outcomes.empty, q.outcomes.unprocessable,
                                       q.outcomes.pending) if n]
    assert len(shown) == len(wanted)
    for (count, pct), (n, value) in zip(shown, wanted, strict=True):
        assert count == n and (pct == "" if value is None else percent_matches(pct, value))


def check_web(client, results: ConsultationResults) -> None:
    home = client.get(reverse("heard:home")).content.decode()
    assert re.search(r">demo</a></th>\s*<td[^>]*>" + str(results.questions) + r"</td>\s*<td[^>]*>"
                     + str(results.respondents) + "</td>", home)
    overview = client.get(url("overview", "demo")).content.decode()
    assert f"{results.respondents} respondents, {results.questions} questions" in overview
    for q in results.open:
        assert re.search(rf">{q.key}</a>.*?</th>\s*<td[^>]*>{q.total}</td>\s*<td[^>]*>"
                         rf"{q.outcomes.empty}</td>\s*<td[^>]*>{len(q.themes)}</td>", overview,
                         flags=re.S), q.key
        page = client.get(url("question", "demo", qid=q.id)).content.decode()
        assert (f"<strong>{q.total}</strong> responses; {q.base} with a substantive answer, "
                f"{q.evidence_rich} evidence-rich, {q.campaign_responses} in campaigns") in page
        rows = theme_rows(page)
        assert set(rows) == {t.id for t in q.themes}
        for t in q.themes:
            count, pct, split, rich = rows[t.id]
            assert (count, split, rich) == (
                t.count, tuple(t.stance.get(s, 0) for s in ("agree", "disagree", "unclear")),
                t.evidence_rich)
            assert percent_matches(pct, t.share)
        for value, n in q.outcomes.as_dict().items():
            if value != "mapped" and n:
                assert re.search(rf'href="\?outcome={value}">[^<]+</a></th>'
                                 rf'<td[^>]*>{n}</td>', page), value
    for c in results.closed:
        assert re.search(rf">{c.key}<br>.*?</th>\s*<td[^>]*>{c.total}</td>\s*<td[^>]*>"
                         rf"{c.answered}</td>", overview, flags=re.S)


def check_report(client, results: ConsultationResults) -> None:
    page = client.get(url("report", "demo") + "?format=html").content.decode()
    assert f'<span class="value">{results.answered}</span> responses with an answer' in page
    assert f'<span class="value">{results.respondents}</span> respondents' in page
    for q in results.open:
        rows = report_table(page, f"{q.key}: responses per theme")
        themed = [r for r in rows if r[0] not in ("Other", "No substantive answer")]
        wanted = expected_theme_rows(q)
        assert [int(r[1]) for r in themed] == [n for n, _ in wanted]
        assert all(percent_matches(r[2], s) for r, (_, s) in zip(themed, wanted, strict=True))
        extra = {r[0]: r[1:] for r in rows if r not in themed}
        if q.outcomes.other:
            assert extra["Other"][0] == str(q.outcomes.other)
            assert percent_matches(extra["Other"][1], q.other_share)
        if q.outcomes.empty:
            assert extra["No substantive answer"][0] == str(q.outcomes.empty)
        caveat = (f"{q.key}: {q.outcomes.other} responses matched no theme (“Other”) and "
                  f"{q.outcomes.empty} gave no substantive answer, out of {q.total}.")
        assert html.escape(caveat, quote=False) in page or caveat in html.unescape(page)
        if not q.has_stance:  # the question asks for no position: no stance table
            assert f"{q.key}: stance overall" not in page
            continue
        stance = report_table(page, f"{q.key}: stance overall")
        assert stance[0][1:] == [f"{q.stance.get(s, 0)} " + stance[0][i + 1].split(" ", 1)[1]
                                 for i, s in enumerate(("agree", "disagree", "unclear"))]
        for root in q.roots:
            row = next(r for r in stance if r[0] == root.label)
            assert [int(cell.split()[0]) for cell in row[1:]] == [
                root.stance.get(s, 0) for s in ("agree", "disagree", "unclear")]
    for c in results.closed:
        rows = report_table(page, f"{c.key}: respondents choosing each option")
        assert [(r[0], int(r[1])) for r in rows] == c.chosen


def check_exports(client, results: ConsultationResults) -> None:
    from openpyxl import load_workbook

    reply = client.get(url("export", "demo") + "?format=csv")
    rows = list(csv.DictReader(io.StringIO(
        b"".join(reply.streaming_content).decode("utf-8-sig"))))
    xlsx = load_workbook(io.BytesIO(b"".join(
        client.get(url("export", "demo") + "?format=xlsx").streaming_content)), read_only=True)
    sheet = list(xlsx.active.iter_rows(values_only=True))
    header = list(sheet[0])
    xlsx_rows = [dict(zip(header, ["" if v is None else str(v) for v in r], strict=True))
                 for r in sheet[1:]]
    assert len(rows) == len(xlsx_rows) == results.responses
    for exported in (rows, xlsx_rows):
        for q in results.open:
            mine = [r for r in exported if r["question_id"] == q.key]
            outcomes = {k: sum(r["outcome"] == k for r in mine) for k in q.outcomes.as_dict()}
            assert outcomes == q.outcomes.as_dict()
            keys = [set(filter(None, r["theme_keys"].split("; "))) for r in mine
                    if r["outcome"] in ("mapped", "other")]
            for t in q.themes:
                family = {t.key} | {c.key for c in q.children(t)}
                assert sum(bool(k & family) for k in keys) == t.count, t.key
            base = [r for r in mine if r["outcome"] in ("mapped", "other")]
            assert sum(r["evidence_rich"] == "YES" for r in base) == q.evidence_rich


@pytest.mark.django_db(transaction=True)
def test_every_surface_shows_the_results_model(tmp_path, client):
    data = tmp_path / "demo"
    heard("sample-data", str(data), "--responses", "120", "--seed", "2")
    heard("import", str(data), "--consultation", "demo")
    consultation = Consultation.objects.get(name="demo")
    # Two unreadable documents, as the import records them; the run keeps their outcome.
    q2 = consultation.questions.filter(kind="open").order_by("position").first()
    unreadable = list(q2.responses.exclude(is_empty=True).values_list("id", flat=True)[:2])
    Response.objects.filter(id__in=unreadable).update(
        text="", is_empty=True, outcome="unprocessable", outcome_reason="the PDF is encrypted")
    heard("analyse", "demo", "--embedder", "static", "--seed", "1")

    results = consultation_results(consultation)
    assert results.questions == len(results.open) + len(results.closed) >= 2
    assert results.demographics, "the sample has demographic columns"
    first = results.open[0]
    assert first.outcomes.unprocessable == 2 and any(t.parent for t in first.themes)
    for q in results.open:
        for t in q.themes:
            assert t.share == pytest.approx(t.count / q.base)
            assert sum(t.stance.values()) <= t.count and t.evidence_rich <= t.count
    signed_in(client, consultation)
    check_cli(results)
    check_web(client, results)
    check_report(client, results)
    check_exports(client, results)


@pytest.mark.django_db(transaction=True)
def test_sub_themes_are_listed_under_their_stored_parent(client, tmp_path):
    """Found: the theme filter, the response's coding list and the theme editor showed
    every sub-theme under the last parent (themes were listed parents first)."""
    data = tmp_path / "demo"
    heard("sample-data", str(data), "--responses", "300", "--seed", "4")
    heard("import", str(data), "--consultation", "tree")
    heard("analyse", "tree", "--embedder", "static")
    consultation = Consultation.objects.get(name="tree")
    question = max(consultation.questions.filter(kind="open"),
                   key=lambda q: len({t.parent_id for t in q.themes.all() if t.parent_id}))
    parents = {t.pk: t.parent_id for t in question.themes.all()}
    assert len({p for p in parents.values() if p}) >= 2, "needs two parents with sub-themes"
    response = question.responses.first()
    pages = {
        "filter": (url("question", "tree", qid=question.pk), r'id="theme-(\d+)"'),
        "coding": (url("response", "tree", response_id=response.pk), r'id="rt-(\d+)"'),
        "editor": (url("themes", "tree", qid=question.pk), r'id="theme-title-(\d+)"'),
    }
    signed_in(client, consultation)
    for where, (address, pattern) in pages.items():
        order = [int(x) for x in re.findall(pattern, client.get(address).content.decode())]
        assert sorted(order) == sorted(parents), where
        current_parent = None
        for pk in order:
            if parents[pk] is None:
                current_parent = pk
            else:
                assert parents[pk] == current_parent, (where, pk)


@pytest.mark.django_db(transaction=True)
def test_exports_carry_respondent_details_closed_answers_and_a_dictionary(tmp_path):
    """Found: exports left out the respondent's details (ward, age band, organisation…),
    so the usual cross-tabs were impossible."""
    import csv as csv_module

    from openpyxl import load_workbook

    data = tmp_path / "demo"
    heard("sample-data", str(data), "--responses", "120", "--seed", "2")
    heard("import", str(data), "--consultation", "ex")
    heard("analyse", "ex", "--embedder", "static")
    heard("export", "ex", "--format", "csv", "-o", str(tmp_path / "ex.csv"))
    heard("export", "ex", "--format", "xlsx", "-o", str(tmp_path / "ex.xlsx"))
    with open(tmp_path / "ex.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv_module.DictReader(handle))
    consultation = Consultation.objects.get(name="ex")
    respondent = consultation.respondents.exclude(attributes={}).first()
    assert respondent is not None, "the sample has respondent attributes"
    mine = [r for r in rows if r["respondent_id"] == respondent.key]
    assert mine
    for name, value in respondent.attributes.items():
        assert all(r[f"respondent: {name}"] == str(value) for r in mine), name
    closed = consultation.questions.filter(kind="closed").first()
    answer = closed.responses.get(respondent=respondent)
    expected = "; ".join(answer.options) if answer.options else answer.text
    assert all(r[f"answer: {closed.key}"] == expected for r in mine)
    book = load_workbook(tmp_path / "ex.xlsx", read_only=True)
    assert book.sheetnames == ["responses", "data dictionary"]
    header = next(book["responses"].iter_rows(max_row=1, values_only=True))
    described = [row[0] for row in book["data dictionary"].iter_rows(min_row=2, values_only=True)]
    assert list(header) == described
