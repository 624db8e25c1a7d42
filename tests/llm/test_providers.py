"""Providers against real HTTP fake servers: valid, malformed, truncated, 429, 500, timeouts."""

from __future__ import annotations

import pytest

from heard.llm.providers import (
    LLMError,
    MalformedOutput,
    OutputTruncated,
    RetryPolicy,
    check_modes,
)
from heard.llm.schemas import SCHEMAS
from tests.llm.conftest import client_for

PING = ("check", "system", 'Reply {"ok": true, "echo": "pong"}', "heard_ping",
        SCHEMAS["heard_ping"])


@pytest.fixture(params=["openai", "anthropic"])
def server(request, fake_openai, fake_anthropic):
    return fake_openai if request.param == "openai" else fake_anthropic


def test_valid_structured_answer_and_ledger(server):
    client = client_for(server)
    assert client.call(*PING) == {"ok": True, "echo": "pong"}
    assert client.mode == "json_schema"
    body = server.requests[-1]["body"]
    if server.kind == "openai":
        assert body["response_format"]["type"] == "json_schema"
    else:
        assert body["tool_choice"] == {"type": "tool", "name": "heard_ping"}
    # The ledger holds the API's usage fields, which the fake computed from the request.
    assert client.ledger.prompt_tokens == server.stats["prompt_tokens"] > 0
    assert client.ledger.completion_tokens == server.stats["completion_tokens"] > 0
    assert client.ledger.cost == pytest.approx(
        (server.stats["prompt_tokens"] * 1.0 + server.stats["completion_tokens"] * 2.0) / 1e6
    )


@pytest.mark.parametrize("fault", ["429", "500", "503"])
def test_transient_errors_are_retried(server, fault):
    sleeps: list[float] = []
    client = client_for(server, sleeps)
    server.faults.extend([fault, fault])
    assert client.call(*PING)["ok"] is True
    assert len(sleeps) == 2
    if fault == "429":
        assert sleeps == [0.01, 0.01]  # Retry-After honoured
    else:
        assert all(0 <= s <= 0.05 for s in sleeps)  # backoff with jitter, capped
    assert client.ledger.calls[-1].attempts == 3


def test_timeout_is_retried(server):
    sleeps: list[float] = []
    client = client_for(server, sleeps)
    server.faults.append("timeout")
    assert client.call(*PING)["ok"] is True
    assert len(sleeps) == 1


def test_gives_up_after_max_attempts(server):
    client = client_for(server)
    server.faults.extend(["500"] * 10)
    with pytest.raises(LLMError, match="gave up after 4 attempts"):
        client.call(*PING)


def test_malformed_json_is_asked_again(server):
    client = client_for(server)
    server.faults.append("malformed")
    assert client.call(*PING)["ok"] is True
    assert len(server.requests) == 2


def test_malformed_json_after_retries_raises(server):
    client = client_for(server)
    server.faults.extend(["malformed"] * 3)
    with pytest.raises(MalformedOutput):
        client.call(*PING)
    assert client.ledger.calls[-1].status == "invalid"


def test_truncated_answer_raises(server):
    client = client_for(server)
    server.faults.append("length")
    with pytest.raises(OutputTruncated):
        client.call(*PING)


def test_fallback_when_json_schema_unsupported(fake_openai):
    fake_openai.json_schema = False
    client = client_for(fake_openai)
    assert client.call(*PING)["ok"] is True
    assert client.mode == "json_object"
    assert fake_openai.requests[-1]["body"]["response_format"] == {"type": "json_object"}


def test_prompt_mode_validates(fake_openai):
    client = client_for(fake_openai, structured="prompt")
    assert client.call(*PING)["ok"] is True
    assert "response_format" not in fake_openai.requests[-1]["body"]


def test_check_modes(fake_openai):
    fake_openai.json_schema = False
    results = check_modes(client_for(fake_openai))
    assert [(r.mode, r.ok) for r in results] == [
        ("json_schema", False), ("json_object", True), ("prompt", True)
    ]


def test_retry_policy_delay_bounds():
    import random

    policy = RetryPolicy(base_delay=1.0, max_delay=8.0)
    rng = random.Random(1)
    assert policy.delay(1, 3.0, rng) == 3.0
    assert policy.delay(1, 100.0, rng) == 8.0
    assert all(0 <= policy.delay(a, None, rng) <= min(8.0, 2 ** (a - 1)) for a in range(1, 8))
