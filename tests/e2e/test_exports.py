"""Downloads and campaigns in Chromium: the Excel export has every respondent detail and
closed answer as columns and a data dictionary, with the rows of `heard export`; the
overview lists as campaigns exactly the sample's form letters sent at least the documented
number of times, each linking to its copies."""

from __future__ import annotations

import csv
import inspect
import io
import json
import subprocess
from collections import Counter

import pytest

from heard.analysis.duplicates import find_groups

from .conftest import HEARD, check_accessibility, screenshot, signed_in_page

pytestmark = pytest.mark.e2e

NAME = "exports"


def _heard(server, *args: str) -> str:
    return subprocess.run([*HEARD, *args], env=server["env"], check=True, capture_output=True,
                          text=True).stdout


@pytest.fixture(scope="module")
def sample(server, tmp_path_factory):
    """600 generated answers (with two form letters), imported and analysed from the CLI."""
    data = tmp_path_factory.mktemp("exports-data")
    _heard(server, "sample-data", str(data), "--responses", "600", "--seed", "3")
    _heard(server, "import", str(data), "--consultation", NAME)
    _heard(server, "analyse", NAME, "--embedder", "static")
    return data


@pytest.fixture(scope="module")
def signed_in(browser, server):
    with signed_in_page(browser, server["url"]) as page:
        yield page


def test_excel_export_has_respondent_details_closed_answers_and_a_dictionary(
        signed_in, server, sample, tmp_path):
    from openpyxl import load_workbook

    page = signed_in
    page.goto(f"{server['url']}/c/{NAME}/")
    check_accessibility(page)
    with page.expect_download() as info:
        page.get_by_role("link", name="Download all responses (XLSX)").click()
    assert info.value.suggested_filename.endswith(".xlsx")
    workbook = load_workbook(io.BytesIO(info.value.path().read_bytes()), read_only=True)
    rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    header, body = list(rows[0]), rows[1:]

    with (sample / "responses.csv").open(encoding="utf-8") as fh:
        source = csv.DictReader(fh)
        details = [c for c in source.fieldnames if c not in ("response_id", "question_id",
                                                              "text")]
    for detail in details:
        assert any(h.startswith("respondent: ") and detail in h for h in header), detail
    shown = json.loads(_heard(server, "show", NAME, "--json"))["questions"]
    closed = [q["id"] for q in shown if q["type"] == "closed"]
    assert closed  # the sample opens with an agree/disagree question
    for key in closed:
        assert any(h.startswith("answer: ") and key in h for h in header), (key, header)

    dictionary = workbook["data dictionary"]
    described = [r[0] for r in dictionary.iter_rows(min_row=2, values_only=True)]
    assert described == header  # every column, in order, with what it holds
    assert all(r[1] for r in dictionary.iter_rows(min_row=2, values_only=True))

    # the same rows as the CLI's export: one code path
    out = tmp_path / "export.csv"
    _heard(server, "export", NAME, "--format", "csv", "-o", str(out))
    with out.open(encoding="utf-8-sig") as fh:
        cli = list(csv.reader(fh))
    assert cli[0] == header and len(cli) - 1 == len(body)


def test_campaigns_are_the_form_letters_sent_often_enough(signed_in, server, sample):
    page = signed_in
    rule = inspect.signature(find_groups).parameters
    min_size = rule["campaign_min_size"].default
    min_words = rule["campaign_min_words"].default
    with (sample / "responses.csv").open(encoding="utf-8") as fh:
        texts = {(r["question_id"], r["response_id"]): r["text"] for r in csv.DictReader(fh)}
    sent: dict[tuple[str, str], Counter] = {}
    with (sample / "gold_campaigns.csv").open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            text = texts[(r["question_id"], r["response_id"])]
            sent.setdefault((r["question_id"], r["campaign_id"]), Counter())[text] += 1
    # the documented rule: a letter of substance (its text at least min_words words long),
    # sent at least min_size times
    letters = {key: (sum(c.values()), len(c.most_common(1)[0][0].split()))
               for key, c in sent.items()}
    expected = sorted((q, n) for (q, _), (n, words) in letters.items()
                      if n >= min_size and words >= min_words)
    assert expected and len(expected) < len(letters)  # the sample has letters of both kinds

    page.goto(f"{server['url']}/c/{NAME}/")
    table = page.locator("table").filter(has=page.get_by_role("columnheader", name="Copies"))
    rows = table.locator("tbody tr")
    shown = sorted((r.locator("td").nth(0).inner_text().strip(),
                    int(r.locator("td").nth(2).inner_text())) for r in rows.all())
    assert shown == expected
    screenshot(page, "overview-campaigns")

    for i in range(rows.count()):
        row = table.locator("tbody tr").nth(i)
        copies = int(row.locator("td").nth(2).inner_text())
        row.locator("a").click()
        page.locator("#result-count").wait_for()
        assert int(page.locator("#result-count strong").inner_text()) == copies
        check_accessibility(page)
        page.go_back()

