"""The enhancement stages end to end against the fake servers, on plain data."""

from __future__ import annotations

import pytest

from heard.llm.enhance import EnhanceOptions, ItemIn, QuestionInput, ThemeIn, enhance, estimate
from tests.llm.conftest import client_for, config_for

TEXTS = {
    "advertising": "Advertising around football reaches children every weekend.",
    "levy": "A statutory levy would pay for treatment and research.",
    "limits": "Stake limits online should match those in shops.",
}


def make_data(n: int = 30) -> QuestionInput:
    themes = [
        ThemeIn("p1", "Harms", parent=None, is_leaf=False),
        ThemeIn("advertising", "advert football", key_phrases=["advertising", "football"],
                parent="p1"),
        ThemeIn("ads-dup", "adverts again", key_phrases=["advertising"], parent="p1"),
        ThemeIn("levy", "levy treatment", key_phrases=["levy", "treatment"]),
        ThemeIn("limits", "stake limits", key_phrases=["stake", "limits"]),
    ]
    keys = list(TEXTS)
    items = []
    for i in range(n):
        key = keys[i % 3]
        conf = [0.95, 0.5, 0.2][i % 3 if i < 27 else 0]
        text = f"{TEXTS[key]} Note {i}. Contact me at person{i}@example.com."
        items.append(ItemIn(str(100 + i), text, [key], conf, stance="agree"))
    items.append(ItemIn("999", "Nothing to do with anything here at all.", [], None))
    return QuestionInput("What should change?", themes, items)


@pytest.fixture(params=["openai", "anthropic"])
def server(request, fake_openai, fake_anthropic):
    return fake_openai if request.param == "openai" else fake_anthropic


def test_all_stages(server):
    server.merges = [{"keys": ["advertising", "ads-dup"], "label": "Advertising harms children",
                      "description": "Adverts reach children."}]
    data = make_data()
    client = client_for(server)
    result = enhance(data, client, EnhanceOptions(target_themes=3, stance=True, max_share=1.0))
    ledger = result.ledger
    # labels from key phrases; the merge removed the duplicate theme
    keys = [t.key for t in result.themes]
    assert "ads-dup" not in keys
    assert next(t for t in result.themes if t.key == "levy").label == "About levy"
    assert ledger.stages["condense"]["merges"] == 1
    # the cascade sent only uncertain responses (confidence in 0.3..0.7) and "Other"
    sent = sum(ledger.outcomes.values())
    assert sent == sum(1 for i in make_data().items if i.confidence is None
                       or 0.3 <= i.confidence <= 0.7)
    assert ledger.outcomes["llm"] == sent and not ledger.failures
    assert result.mapped["101"].themes == ["levy"]
    assert result.mapped["999"].themes == []
    # PII never reached the server
    for request in server.requests:
        assert "@example.com" not in str(request["body"])
    assert ledger.redaction["email"] == 30
    # summaries: verified quotes kept, the invented one dropped
    assert result.summaries["levy"]["quotes"]
    for s in result.summaries.values():
        for q in s["quotes"]:
            assert q["text"] in next(i.text for i in data.items if i.id == q["response_id"])
        assert any(d["reason"] == "not an exact substring" for d in s["dropped_quotes"])
    assert "" in result.summaries
    # the ledger matches the server's own count
    assert ledger.prompt_tokens == server.stats["prompt_tokens"]
    assert ledger.completion_tokens == server.stats["completion_tokens"]


def test_context_overflow_splits_batches_recursively(fake_openai):
    fake_openai.context_limit = 600
    client = client_for(fake_openai, batch_prompt_tokens=5000)
    result = enhance(make_data(90), client, EnhanceOptions(labels=False, condense=False,
                                                         summaries=False, max_share=1.0))
    assert result.ledger.outcomes["llm"] == sum(result.ledger.outcomes.values())
    statuses = [c.status for c in result.ledger.calls]
    assert "too_long" in statuses and statuses[-1] == "ok"


def test_overlong_response_is_truncated_with_a_note(fake_openai):
    data = make_data(3)
    data.items[1].text = "levy " * 3000
    client = client_for(fake_openai, max_response_tokens=100)
    result = enhance(data, client, EnhanceOptions(labels=False, condense=False,
                                                  summaries=False, max_share=1.0))
    assert any("101 truncated" in n for n in result.ledger.notes)
    assert result.mapped["101"].themes == ["levy"]


def test_malformed_answers_keep_offline_results(fake_openai):
    fake_openai.faults.extend(["malformed"] * 3)
    data = make_data(6)
    client = client_for(fake_openai, max_items_per_batch=100)
    result = enhance(data, client, EnhanceOptions(labels=False, condense=False,
                                                  summaries=False, max_share=1.0))
    assert result.mapped == {}
    failed = {f["id"] for f in result.ledger.failures}
    assert failed == {"101", "104", "999"}
    assert result.ledger.outcomes == {"offline": 3}
    assert result.item_themes["101"] == ["levy"]  # unchanged offline result


def test_truncated_output_halves_the_batch(fake_openai):
    fake_openai.faults.append("length")
    client = client_for(fake_openai)
    result = enhance(make_data(), client, EnhanceOptions(labels=False, condense=False,
                                                         summaries=False, max_share=1.0))
    assert result.ledger.outcomes["llm"] == sum(result.ledger.outcomes.values())
    assert result.ledger.calls[0].status == "truncated"


def test_budget_stops_calls_and_records_outcomes(fake_openai):
    client = client_for(fake_openai, max_items_per_batch=2)
    client.budget = 1e-9
    result = enhance(make_data(), client, EnhanceOptions(labels=False, condense=False,
                                                         summaries=False, max_share=1.0))
    assert result.ledger.outcomes["budget"] >= 1
    assert len(result.ledger.calls) == 1


def test_estimate_is_close_to_what_is_spent(fake_openai):
    config = config_for(fake_openai)
    options = EnhanceOptions()
    est = estimate(make_data(), config, options)
    result = enhance(make_data(), client_for(fake_openai), options)
    assert est.calls == len(result.ledger.calls)
    assert est.prompt_tokens == pytest.approx(result.ledger.prompt_tokens, rel=0.15)
    assert fake_openai.stats["calls"] == est.calls  # estimate itself called nothing


def test_a_theme_of_one_side_reads_the_same_as_in_discovery(fake_openai):
    """Split by stance, relabelled or not, a theme names its side with the one helper."""
    from heard.analysis.labels import label_side, side_label

    data = make_data()
    for n, item in enumerate(i for i in data.items if i.themes == ["levy"]):
        item.stance = "agree" if n % 2 else "disagree"
    data.themes.append(ThemeIn("sided", side_label("stake limits", -1), key_phrases=["stake"]))
    fake_openai.split_by_stance = ["levy"]
    result = enhance(data, client_for(fake_openai),
                     EnhanceOptions(target_themes=3, mapping=False, summaries=False))
    labels = {t.key: t.label for t in result.themes}
    relabelled = labels["levy-support"].split(": ", 1)[1]
    assert labels["levy-support"] == side_label(relabelled, 1)
    assert labels["levy-oppose"] == side_label(relabelled, -1)
    assert label_side(labels["sided"]) == (-1, "About stake")  # relabelled, side kept
