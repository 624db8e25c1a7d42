"""The LLM ledger in the web app: usage per run, and LLM-written theme summaries."""

from __future__ import annotations

from django.urls import reverse

from heard.store.models import Run, RunLLM, RunLLMQuestion

MODEL = "openai:gpt-4o-mini"


def store_ledger(run: Run, question, summaries: dict | None = None) -> Run:
    """Save an LLM record with the run as the LLM stage does: two calls on ``question``."""
    record, _ = RunLLM.objects.get_or_create(run=run, defaults={
        "provider": "openai", "model": "gpt-4o-mini", "stages": ["labels", "summaries"]})
    RunLLMQuestion.objects.create(
        llm=record, question=question, calls=2, attempts=3, prompt_tokens=3300,
        completion_tokens=750, cost=0.000945, responses=question.responses.count(),
        sent_ids=list(question.responses.values_list("id", flat=True)[:4]),
        outcomes={"llm": 3}, summaries=summaries or {},
    )
    return run


def summaries_for(built) -> dict:
    """Summaries as ``enhance`` returns them: keyed by theme key, "" for the question."""
    first = built.responses[0]
    return {
        "transport": {
            "summary": "Respondents want more buses to cut traffic in the centre.",
            "quotes": [{"response_id": str(built.responses[1].pk),
                        "text": "More buses would mean fewer cars"}],
            "dropped_quotes": [],
        },
        "gone": {"summary": "A theme merged away since.", "quotes": [], "dropped_quotes": []},
        "": {"summary": "Most answers weigh cost against cleaner air.",
             "quotes": [{"response_id": str(first.pk), "text": "Parking charges"}],
             "dropped_quotes": []},
    }


def _run(built) -> Run:
    return built.consultation.runs.first()


def test_job_page_shows_llm_usage(as_role, own):
    run = store_ledger(_run(own), own.question)
    page = as_role("viewer").get(reverse("heard:job", args=["own", run.pk])).content.decode()
    assert 'id="llm-ledger"' in page
    assert ("Calls, tokens and cost of the LLM stage (openai:gpt-4o-mini; stages: labels, "
            "summaries)") in page
    assert ">4 of 30<" in page  # responses sent
    assert ">3300<" in page and ">750<" in page  # prompt and completion tokens in total
    assert "0.0009 USD" in page
    assert ">q1_why<" in page
    assert "No LLM used" not in page


def test_job_page_without_ledger_says_no_llm(as_role, own):
    run = _run(own)
    page = as_role("viewer").get(reverse("heard:job", args=["own", run.pk])).content.decode()
    assert "No LLM used." in page


def test_overview_runs_list_shows_usage_of_each_run(as_role, own):
    with_llm = store_ledger(_run(own), own.question)
    plain = Run.objects.create(consultation=own.consultation, status="done")
    page = as_role("viewer").get(reverse("heard:overview", args=["own"])).content.decode()
    runs = page[page.index("Analysis runs"):]
    assert ("LLM openai:gpt-4o-mini: 2 calls, 3300 prompt and 750 completion tokens, "
            "cost 0.0009 USD, 4 of 30 responses sent") in runs
    assert "No LLM used" in runs
    assert runs.index(f"Run {plain.pk}<") < runs.index("No LLM used") < runs.index(
        f"Run {with_llm.pk}<")


def test_question_page_shows_summaries_under_theme_description(as_role, own):
    transport = own.themes["transport"]
    transport.description = "Buses, trains and how often they run."
    transport.save()
    store_ledger(_run(own), own.question, summaries_for(own))
    url = reverse("heard:question", args=["own", own.question.pk])
    page = as_role("viewer").get(url).content.decode()
    section = page[page.index('id="llm-summaries"'):page.index('id="responses-heading"')]
    card = section[section.index('id="summary-transport"'):]
    assert (card.index("Public transport") < card.index("Buses, trains and how often")
            < card.index("Respondents want more buses") < card.index(
                f"Summary written by {MODEL}"))
    assert reverse("heard:response", args=["own", own.responses[1].pk]) in card
    assert "Most answers weigh cost against cleaner air." in section
    assert "A theme merged away since." not in section  # its theme no longer exists


def test_question_page_without_summaries_shows_none(as_role, own):
    store_ledger(_run(own), own.question)  # LLM used, but no summaries
    url = reverse("heard:question", args=["own", own.question.pk])
    page = as_role("viewer").get(url).content.decode()
    assert 'id="llm-summaries"' not in page


def test_summaries_come_from_the_latest_run_of_the_question(as_role, own):
    store_ledger(_run(own), own.question, summaries_for(own))
    url = reverse("heard:question", args=["own", own.question.pk])
    client = as_role("viewer")
    # A later run of another question leaves this question's summaries in place.
    Run.objects.create(consultation=own.consultation, status="done",
                       params={"question": "elsewhere"})
    assert "Summary written by" in client.get(url).content.decode()
    # A later offline run of this question replaces them.
    Run.objects.create(consultation=own.consultation, status="done",
                       params={"question": own.question.key})
    assert "Summary written by" not in client.get(url).content.decode()


def test_quotes_citing_responses_elsewhere_are_not_linked(as_role, own, other):
    summaries = summaries_for(own)
    summaries["transport"]["quotes"] = [{"response_id": str(other.responses[0].pk),
                                         "text": "More buses"}]
    store_ledger(_run(own), own.question, summaries)
    url = reverse("heard:question", args=["own", own.question.pk])
    page = as_role("viewer").get(url).content.decode()
    card = page[page.index('id="summary-transport"'):page.index('id="responses-heading"')]
    assert "More buses" in card
    assert f"/responses/{other.responses[0].pk}/" not in card
