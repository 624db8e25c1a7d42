"""The main pages in Chromium under the strict Content-Security-Policy: the browser reports no
violation and no script error, and the pages' own scripts still run (GOV.UK Frontend, the
bars drawn from data attributes)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from .conftest import PASSWORD

pytestmark = pytest.mark.e2e

HEARD = [sys.executable, "-m", "heard"]
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


@pytest.fixture(scope="module")
def analysed(server):
    """A consultation imported and analysed from the command line, next to the server."""
    data = server["data"]
    for args in (["import", str(data / "questions.csv"), str(data / "responses.csv"),
                  "--consultation", "csp"],
                 ["analyse", "csp", "--embedder", "static"]):
        subprocess.run([*HEARD, *args], env=server["env"], check=True, capture_output=True)
    return "csp"


def test_main_pages_run_their_scripts_without_csp_violations(browser, server, analysed):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(WATCH)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" or
            "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda error: problems.append(str(error)))

    def visit(path: str) -> None:
        reply = page.goto(server["url"] + path)
        assert reply is not None and reply.status == 200, path
        assert "script-src 'self'" in reply.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__violations") == [], path
        classes = page.evaluate("document.body.className")
        assert "js-enabled" in classes and "govuk-frontend-supported" in classes, path
        assert problems == [], (path, problems)

    visit("/sign-in/")
    page.get_by_label("Email address").fill("lead@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Consultations").wait_for()
    visit("/")
    visit(f"/c/{analysed}/")
    question = page.locator(f'a[href^="/c/{analysed}/q/"]').first.get_attribute("href")
    qid = re.search(r"/q/(\d+)/", question)[1]
    visit(f"/c/{analysed}/q/{qid}/")
    widths = page.locator(".heard-bar span").evaluate_all("spans => spans.map(s => s.style.width)")
    assert widths and all(w.endswith("%") for w in widths)  # app.js drew every bar
    assert any(w != "0.0%" for w in widths)
    response = page.locator(f'a[href^="/c/{analysed}/responses/"]').first.get_attribute("href")
    visit(f"/c/{analysed}/q/{qid}/themes/")
    visit(response)
    visit(f"/c/{analysed}/history/")
    visit(f"/c/{analysed}/members/")
    visit(f"/c/{analysed}/upload/")
    visit("/upload/")
    context.close()
