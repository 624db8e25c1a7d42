"""Resolving --llm names from the environment and llm.toml."""

from __future__ import annotations

import pytest

from heard.llm.config import LLMConfigError, resolve_llm


def test_openai_from_environment(tmp_path):
    env = {"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": "http://127.0.0.1:1/v1",
           "HEARD_HOME": str(tmp_path)}
    c = resolve_llm("openai:gpt-4o-mini", env=env)
    assert (c.provider, c.model, c.base_url, c.api_key) == (
        "openai", "gpt-4o-mini", "http://127.0.0.1:1/v1", "k")
    assert c.price.prompt == 0.15  # a default price


def test_azure_and_anthropic_need_their_settings(tmp_path):
    with pytest.raises(LLMConfigError, match="AZURE_OPENAI_ENDPOINT"):
        resolve_llm("azure:dep", env={"HEARD_HOME": str(tmp_path)})
    env = {"HEARD_HOME": str(tmp_path), "AZURE_OPENAI_ENDPOINT": "https://x",
           "AZURE_OPENAI_API_KEY": "k", "OPENAI_API_VERSION": "2024-06-01"}
    c = resolve_llm("azure:dep", env=env)
    assert c.api_version == "2024-06-01"
    with pytest.raises(LLMConfigError, match="ANTHROPIC_API_KEY"):
        resolve_llm("anthropic:claude", env={"HEARD_HOME": str(tmp_path)})


def test_profile_prices_and_tuning_from_toml(tmp_path):
    (tmp_path / "llm.toml").write_text(
        '[defaults]\nuncertain_band = [0.2, 0.6]\n'
        '[prices."m1"]\nprompt = 1.5\ncompletion = 3\ncurrency = "GBP"\n'
        '[profiles.local]\nprovider = "compatible"\nbase_url = "http://127.0.0.1:2/v1"\n'
        'model = "m1"\nbatch_prompt_tokens = 3000\n'
    )
    c = resolve_llm("local", env={"HEARD_HOME": str(tmp_path)})
    assert c.provider == "compatible" and c.api_key == "not-needed"
    assert c.batch_prompt_tokens == 3000 and c.uncertain_band == (0.2, 0.6)
    assert c.price.cost(1_000_000, 1_000_000) == 4.5 and c.price.currency == "GBP"


def test_unknown_names_are_explained(tmp_path):
    with pytest.raises(LLMConfigError, match="PROVIDER:MODEL"):
        resolve_llm("gpt4", env={"HEARD_HOME": str(tmp_path)})
    with pytest.raises(LLMConfigError, match="Unknown provider"):
        resolve_llm("cohere:x", env={"HEARD_HOME": str(tmp_path)})
