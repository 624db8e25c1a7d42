"""A lead starts an analysis with the installation's LLM in Chromium, against a real
`heard serve` whose LLM is a fake LLM server on 127.0.0.1; the job page shows the LLM stage
and its cost, and the report names the model and the share of responses sent."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.llm.fake_llm import FakeLLM
from tests.web.live_server import start_server

from .conftest import HEARD, PASSWORD, check_accessibility

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def llm_server(tmp_path_factory):
    """`heard serve` configured with HEARD_LLM pointing at a fake LLM; one analysed
    consultation (offline, static embedder) to start from."""
    import os

    home = tmp_path_factory.mktemp("heard-e2e-llm")
    with FakeLLM("openai") as fake:
        fake.merge_first_two = True
        env = {**os.environ, "HEARD_HOME": str(home / "home"), "HEARD_LLM": "openai:fake-model",
               "OPENAI_BASE_URL": fake.url, "OPENAI_API_KEY": "test"}
        env.pop("DATABASE_URL", None)
        data = home / "data"
        for args in (["sample-data", str(data), "--responses", "60", "--seed", "5"],
                     ["import", str(data), "--consultation", "demo"],
                     ["analyse", "demo", "--embedder", "static"],
                     ["user", "add", "lead@example.org", "--role", "admin",
                      "--password", PASSWORD]):
            subprocess.run([*HEARD, *args], env=env, check=True, capture_output=True)
        running = start_server(env, home / "serve.log")
        yield {"url": running.url, "fake": fake}
        running.stop(timeout=10)


def test_web_analysis_with_llm(browser, llm_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    page = context.new_page()
    url = llm_server["url"]
    page.goto(url + "/sign-in/")
    page.get_by_label("Email address").fill("lead@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Consultations").wait_for()
    page.goto(url + "/c/demo/")
    check_accessibility(page)
    page.get_by_label("Use openai:fake-model, for these stages:").check()
    page.get_by_role("button", name="Run the analysis").click()
    page.locator("#job-progress").wait_for()
    stages = set()
    for _ in range(600):  # up to 5 minutes on a busy machine
        state = page.locator("#job-state").inner_text()
        stages.add(page.locator("#job-stage").inner_text())
        if state in ("done", "failed", "cancelled"):
            break
        page.wait_for_timeout(500)
    assert state == "done", page.content()[:2000]
    page.reload()
    ledger = page.locator("#llm-ledger")
    text = ledger.inner_text()
    assert "openai:fake-model" in text and "Total" in text
    sent = re.search(r"Total\s+(\d+)\s+\d+\s+\d+\s+[\d.]+ USD\s+(\d+) of (\d+)", text)
    assert sent, text
    calls, n_sent, n_total = (int(g) for g in (sent.group(1), sent.group(2), sent.group(3)))
    assert calls == llm_server["fake"].stats["calls"] > 0 and 0 < n_sent < n_total
    check_accessibility(page)

    report = page.request.get(url + "/c/demo/report/?format=html").text()
    assert "fake-model from openai" in report
    assert f"{n_sent} of {n_total} responses" in report
    assert "No large language model was used" not in report

    page.goto(url + "/c/demo/history/")
    assert page.get_by_text(re.compile(r"LLM stage of run \d+")).count() >= 1
    assert page.get_by_text("merge themes").count() >= 1
    check_accessibility(page)
    context.close()
