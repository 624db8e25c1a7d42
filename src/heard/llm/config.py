"""Which LLM to call and how: from a ``provider:model`` name, the environment, or llm.toml.

A name is either a profile in the config file (``[profiles.NAME]``) or ``provider:model``:

* ``openai:MODEL``: OPENAI_API_KEY, OPENAI_BASE_URL (so any OpenAI-compatible server works:
  Ollama, vLLM, llama.cpp server);
* ``compatible:MODEL``: the same, but a base_url is required (from the profile or
  OPENAI_BASE_URL) and a missing key is allowed;
* ``azure:DEPLOYMENT``: AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY, OPENAI_API_VERSION;
* ``anthropic:MODEL``: ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL.

The config file is ``$HEARD_HOME/llm.toml`` unless a path is given. Prices are per million
tokens, set per model under ``[prices."MODEL"]`` or in a profile.

The LLM an installation offers in the web app (and to jobs started there) is named by
``HEARD_LLM``, or else by a top-level ``llm = "NAME"`` in llm.toml; see :func:`installation_llm`.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

__all__ = ["LLMConfig", "LLMConfigError", "Price", "default_config_path", "installation_llm",
           "resolve_llm", "read_config_file"]

PROVIDERS = ("openai", "compatible", "azure", "anthropic")
STRUCTURED_MODES = ("auto", "json_schema", "json_object", "prompt")


class LLMConfigError(ValueError):
    """The LLM name or config file is wrong; the message says how to fix it."""


@dataclass(frozen=True)
class Price:
    """Cost per million tokens, in the configured currency."""

    prompt: float = 0.0
    completion: float = 0.0
    currency: str = "USD"

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.prompt + completion_tokens * self.completion) / 1e6


@dataclass(frozen=True)
class LLMConfig:
    """Everything needed to reach one model."""

    name: str
    provider: str
    model: str
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    api_version: str | None = None
    timeout: float = 60.0
    max_attempts: int = 5
    context_tokens: int = 16000
    max_output_tokens: int = 2000
    structured: str = "auto"
    temperature: float = 0.0
    price: Price = Price()
    redact: bool = True
    uncertain_band: tuple[float, float] = (0.3, 0.7)
    batch_prompt_tokens: int = 6000
    max_items_per_batch: int = 40
    max_response_tokens: int = 400
    cascade_max_share: float = 0.1

    def describe(self) -> str:
        where = self.base_url or "(provider default)"
        return f"{self.provider}:{self.model} at {where}"


# Default prices (per million tokens) for a few common models; override in llm.toml.
DEFAULT_PRICES: dict[str, Price] = {
    "gpt-4o-mini": Price(0.15, 0.60),
    "gpt-4o": Price(2.50, 10.0),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4.1": Price(2.0, 8.0),
    "claude-3-5-haiku-latest": Price(0.80, 4.0),
    "claude-sonnet-4-0": Price(3.0, 15.0),
}

_TUNABLE = {
    "timeout": float,
    "max_attempts": int,
    "context_tokens": int,
    "max_output_tokens": int,
    "temperature": float,
    "redact": bool,
    "batch_prompt_tokens": int,
    "max_items_per_batch": int,
    "max_response_tokens": int,
    "cascade_max_share": float,
}


def default_config_path(env: Mapping[str, str]) -> Path:
    """``$HEARD_HOME/llm.toml`` (HEARD_HOME defaults to ~/.local/share/heard)."""
    home = env.get("HEARD_HOME") or str(Path.home() / ".local" / "share" / "heard")
    return Path(home) / "llm.toml"


def read_config_file(path: Path) -> dict:
    """The parsed TOML file, or {} when it does not exist."""
    if not path.exists():
        return {}
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise LLMConfigError(f"{path}: not valid TOML ({exc}).") from None


def _price(table: Mapping, model: str, profile: Mapping) -> Price:
    if "price" in profile:
        p = profile["price"]
        return Price(float(p.get("prompt", 0)), float(p.get("completion", 0)),
                     str(p.get("currency", "USD")))
    prices = table.get("prices", {})
    if model in prices:
        p = prices[model]
        return Price(float(p.get("prompt", 0)), float(p.get("completion", 0)),
                     str(p.get("currency", "USD")))
    return DEFAULT_PRICES.get(model, Price())


def resolve_llm(
    name: str,
    *,
    env: Mapping[str, str] | None = None,
    config_path: Path | None = None,
) -> LLMConfig:
    """Resolve ``name`` (a profile or ``provider:model``) into an :class:`LLMConfig`."""
    env = dict(os.environ if env is None else env)
    path = config_path or default_config_path(env)
    if config_path is not None and not config_path.exists():
        raise LLMConfigError(f"{config_path}: LLM config file not found.")
    table = read_config_file(path)
    profiles = table.get("profiles", {})
    defaults = table.get("defaults", {})
    if name in profiles:
        profile = dict(profiles[name])
        provider = str(profile.get("provider", "openai"))
        model = str(profile.get("model", ""))
        if not model:
            raise LLMConfigError(f"{path}: profile {name!r} needs a model.")
    elif ":" in name:
        provider, model = name.split(":", 1)
        profile = {}
    else:
        known = ", ".join(sorted(profiles)) or "none"
        raise LLMConfigError(
            f"Unknown LLM {name!r}. Use PROVIDER:MODEL (providers: {', '.join(PROVIDERS)}) "
            f"or a profile from {path} (profiles: {known})."
        )
    if provider not in PROVIDERS:
        raise LLMConfigError(f"Unknown provider {provider!r}; use one of {', '.join(PROVIDERS)}.")
    settings = {**defaults, **profile}
    key_env = settings.get("api_key_env")
    api_key = env.get(key_env) if key_env else None
    base_url = settings.get("base_url")
    api_version = settings.get("api_version")
    if provider in ("openai", "compatible"):
        api_key = api_key or env.get("OPENAI_API_KEY")
        base_url = base_url or env.get("OPENAI_BASE_URL")
        if provider == "compatible":
            if not base_url:
                raise LLMConfigError(
                    f"{name}: an OpenAI-compatible server needs base_url (in the profile) "
                    "or OPENAI_BASE_URL, e.g. http://localhost:11434/v1 for Ollama."
                )
            api_key = api_key or "not-needed"
        elif not api_key:
            raise LLMConfigError(
                f"{name}: set OPENAI_API_KEY (and OPENAI_BASE_URL for a compatible server), "
                "or use a profile with api_key_env."
            )
    elif provider == "azure":
        api_key = api_key or env.get("AZURE_OPENAI_API_KEY")
        base_url = base_url or env.get("AZURE_OPENAI_ENDPOINT")
        api_version = api_version or env.get("OPENAI_API_VERSION")
        missing = [
            n
            for n, v in (
                ("AZURE_OPENAI_ENDPOINT", base_url),
                ("AZURE_OPENAI_API_KEY", api_key),
                ("OPENAI_API_VERSION", api_version),
            )
            if not v
        ]
        if missing:
            raise LLMConfigError(f"{name}: set {', '.join(missing)} for Azure OpenAI.")
    else:
        api_key = api_key or env.get("ANTHROPIC_API_KEY")
        base_url = base_url or env.get("ANTHROPIC_BASE_URL")
        if not api_key:
            raise LLMConfigError(f"{name}: set ANTHROPIC_API_KEY.")
    structured = str(settings.get("structured", "auto"))
    if structured not in STRUCTURED_MODES:
        raise LLMConfigError(
            f"{path}: structured must be one of {', '.join(STRUCTURED_MODES)}, not {structured!r}."
        )
    config = LLMConfig(
        name=name,
        provider=provider,
        model=model,
        base_url=base_url,
        api_key=api_key,
        api_version=api_version,
        structured=structured,
        price=_price(table, model, profile),
    )
    tuned = {}
    for key, kind in _TUNABLE.items():
        if key in settings:
            try:
                tuned[key] = kind(settings[key])
            except (TypeError, ValueError):
                raise LLMConfigError(f"{path}: {key} must be {kind.__name__}.") from None
    if "uncertain_band" in settings:
        low, high = (float(x) for x in settings["uncertain_band"])
        if not 0.0 <= low <= high <= 1.0:
            raise LLMConfigError(f"{path}: uncertain_band must be [low, high] within 0..1.")
        tuned["uncertain_band"] = (low, high)
    return replace(config, **tuned)


def installation_llm(env: Mapping[str, str] | None = None) -> LLMConfig | None:
    """The LLM this installation offers: ``HEARD_LLM``, else ``llm = "NAME"`` at the top of
    llm.toml; None when neither is set. A name that does not resolve raises LLMConfigError."""
    env = dict(os.environ if env is None else env)
    name = env.get("HEARD_LLM", "").strip()
    if not name:
        name = str(read_config_file(default_config_path(env)).get("llm") or "").strip()
    if not name:
        return None
    return resolve_llm(name, env=env)
