"""Fake LLM servers on 127.0.0.1 and clients pointed at them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from heard.llm.config import LLMConfig, Price
from heard.llm.providers import LLMClient, RetryPolicy, make_provider
from tests.llm.fake_llm import FakeLLM


@pytest.fixture
def fake_openai() -> Iterator[FakeLLM]:
    with FakeLLM("openai", hang_seconds=1.5) as server:
        yield server


@pytest.fixture
def fake_anthropic() -> Iterator[FakeLLM]:
    with FakeLLM("anthropic", hang_seconds=1.5) as server:
        yield server


def config_for(server: FakeLLM, **overrides) -> LLMConfig:
    provider = "anthropic" if server.kind == "anthropic" else "openai"
    base = LLMConfig(
        name=f"{provider}:fake-model",
        provider=provider,
        model="fake-model",
        base_url=server.url,
        api_key="test-key",
        timeout=0.5,
        price=Price(prompt=1.0, completion=2.0),
    )
    return replace(base, **overrides)


def client_for(server: FakeLLM, sleeps: list[float] | None = None, **overrides) -> LLMClient:
    config = config_for(server, **overrides)
    record = sleeps if sleeps is not None else []
    return LLMClient(
        provider=make_provider(config),
        config=config,
        retry=RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05),
        sleep=record.append,
    )
