"""Providers (OpenAI, Azure OpenAI, Anthropic, any OpenAI-compatible server) and the client
that makes one structured call reliably: retries with backoff, schema validation, fallbacks.

Structured output is tried in this order (``structured = "auto"``), and the first that
works is kept for the rest of the run:

1. ``json_schema``: the provider enforces the schema (OpenAI ``response_format``,
   Anthropic a forced tool call);
2. ``json_object``: JSON mode, the schema in the prompt, validated here;
3. ``prompt``: plain text asked to be JSON, validated here.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from heard.llm.budget import CallRecord, Ledger
from heard.llm.config import LLMConfig
from heard.llm.schemas import SchemaError, validate

__all__ = ["ChatResult", "ContextTooLong", "LLMClient", "LLMError", "MalformedOutput", "ModeCheck",
           "check_modes", "make_client",
           "OutputTruncated", "Provider", "RetryPolicy", "TransientError", "UnsupportedMode",
           "make_provider"]

MODES = ("json_schema", "json_object", "prompt")


class LLMError(Exception):
    """The LLM call failed for good (after retries); the message says why."""


class TransientError(LLMError):
    """Worth retrying: 429, 5xx, timeouts, dropped connections."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ContextTooLong(LLMError):
    """The request does not fit the model's context window."""


class UnsupportedMode(LLMError):
    """The server rejected the structured-output mode (e.g. no json_schema support)."""


class OutputTruncated(LLMError):
    """The answer was cut off (finish_reason "length")."""


class MalformedOutput(LLMError):
    """The answer was not valid JSON for the schema, after retries."""


@dataclass
class ChatResult:
    """One answer: its text, why it stopped, and the provider's token counts."""

    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int


class Provider(Protocol):
    """Sends one chat request in a given structured-output mode."""

    def chat(
        self,
        system: str,
        user: str,
        *,
        schema: dict[str, Any],
        schema_name: str,
        mode: str,
        max_tokens: int,
    ) -> ChatResult: ...


_UNSUPPORTED = re.compile(r"response_format|json_schema|json_object|not supported|tool", re.I)
_CONTEXT = re.compile(r"context|too long|maximum.*tokens|prompt is too long", re.I)


def _retry_after(headers: Any) -> float | None:
    if headers is None:
        return None
    value = headers.get("retry-after-ms")
    if value:
        try:
            return float(value) / 1000.0
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def _classify(exc: Exception) -> Exception:
    """Map an SDK exception (openai or anthropic) onto this module's errors."""
    name = type(exc).__name__
    status = getattr(exc, "status_code", None)
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    message = str(exc)
    if name in ("APITimeoutError", "APIConnectionError") or isinstance(exc, TimeoutError):
        return TransientError(f"{name}: {message}")
    if status == 429 or (isinstance(status, int) and status >= 500) or status == 408:
        return TransientError(f"HTTP {status}: {message[:200]}", _retry_after(headers))
    if status in (400, 413, 422):
        if _CONTEXT.search(message) and "context" in message.lower() or status == 413:
            return ContextTooLong(message[:300])
        if _UNSUPPORTED.search(message):
            return UnsupportedMode(message[:300])
    return LLMError(f"{name}: {message[:300]}")


def _wire_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema without keywords that strict provider modes reject (checked locally)."""
    drop = {"maxLength", "minItems", "maxItems"}
    if isinstance(schema, dict):
        return {k: _wire_schema(v) for k, v in schema.items() if k not in drop}
    if isinstance(schema, list):
        return [_wire_schema(v) for v in schema]
    return schema


def _schema_hint(schema: dict[str, Any]) -> str:
    return (
        "\n\nAnswer with one JSON object only, no prose and no code fences, matching this "
        "JSON schema:\n" + json.dumps(_wire_schema(schema), separators=(",", ":"))
    )


class OpenAIProvider:
    """OpenAI, Azure OpenAI, or any OpenAI-compatible server, through the ``openai`` client."""

    def __init__(self, config: LLMConfig) -> None:
        try:
            import openai
        except ImportError:
            raise LLMError(
                "The openai package is missing: pip install 'heard[llm]'."
            ) from None
        common = {"api_key": config.api_key, "timeout": config.timeout, "max_retries": 0}
        if config.provider == "azure":
            self.client = openai.AzureOpenAI(
                azure_endpoint=config.base_url, api_version=config.api_version, **common
            )
        else:
            self.client = openai.OpenAI(base_url=config.base_url, **common)
        self.config = config

    def chat(self, system, user, *, schema, schema_name, mode, max_tokens) -> ChatResult:
        kwargs: dict[str, Any] = {}
        if mode == "json_schema":
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": schema_name, "schema": _wire_schema(schema),
                                "strict": True},
            }
        else:
            user = user + _schema_hint(schema)
            if mode == "json_object":
                kwargs["response_format"] = {"type": "json_object"}
        try:
            reply = self.client.chat.completions.create(
                model=self.config.model,
                messages=[{"role": "system", "content": system},
                          {"role": "user", "content": user}],
                max_tokens=max_tokens,
                temperature=self.config.temperature,
                **kwargs,
            )
        except Exception as exc:  # SDK errors are mapped to ours
            raise _classify(exc) from exc
        choice = reply.choices[0] if reply.choices else None
        usage = reply.usage
        return ChatResult(
            text=(choice.message.content or "") if choice else "",
            finish_reason=(choice.finish_reason or "") if choice else "",
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        )


class AnthropicProvider:
    """Anthropic's Messages API through the ``anthropic`` client (``heard[anthropic]``)."""

    def __init__(self, config: LLMConfig) -> None:
        try:
            import anthropic
        except ImportError:
            raise LLMError(
                "The anthropic package is missing: pip install 'heard[anthropic]'."
            ) from None
        self.client = anthropic.Anthropic(
            api_key=config.api_key, base_url=config.base_url, timeout=config.timeout,
            max_retries=0,
        )
        self.config = config

    def chat(self, system, user, *, schema, schema_name, mode, max_tokens) -> ChatResult:
        kwargs: dict[str, Any] = {}
        if mode == "json_schema":
            kwargs["tools"] = [{
                "name": schema_name,
                "description": "Record the answer.",
                "input_schema": _wire_schema(schema),
            }]
            kwargs["tool_choice"] = {"type": "tool", "name": schema_name}
        else:
            user = user + _schema_hint(schema)
        try:
            reply = self.client.messages.create(
                model=self.config.model,
                system=system,
                messages=[{"role": "user", "content": user}],
                max_tokens=max_tokens,
                temperature=self.config.temperature,
                **kwargs,
            )
        except Exception as exc:
            raise _classify(exc) from exc
        text = ""
        for block in reply.content:
            if block.type == "tool_use":
                text = json.dumps(block.input)
                break
            if block.type == "text":
                text += block.text
        finish = {"max_tokens": "length", "end_turn": "stop", "tool_use": "stop"}.get(
            reply.stop_reason or "", reply.stop_reason or ""
        )
        return ChatResult(
            text=text,
            finish_reason=finish,
            prompt_tokens=int(reply.usage.input_tokens or 0),
            completion_tokens=int(reply.usage.output_tokens or 0),
        )


def make_provider(config: LLMConfig) -> Provider:
    """The provider object for ``config``."""
    if config.provider == "anthropic":
        return AnthropicProvider(config)
    return OpenAIProvider(config)


@dataclass
class RetryPolicy:
    """Exponential backoff with full jitter; Retry-After is honoured (capped)."""

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    parse_retries: int = 2

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay)
        return rng.uniform(0, min(self.max_delay, self.base_delay * (2 ** (attempt - 1))))


def _parse_json(text: str) -> Any:
    """JSON from an answer; tolerates code fences and prose around one object."""
    text = text.strip()
    if text.startswith("```"):
        text = re.sub(r"^```[a-zA-Z]*\s*|\s*```$", "", text)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        start, end = text.find("{"), text.rfind("}")
        if start >= 0 and end > start:
            return json.loads(text[start : end + 1])
        raise


@dataclass
class LLMClient:
    """Makes structured calls: retries, validation, mode fallback, and the ledger."""

    provider: Provider
    config: LLMConfig
    ledger: Ledger = field(default_factory=Ledger)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    budget: float | None = None  # stop calling once this much has been spent in the run
    spent: float = 0.0  # spent earlier in the run (other questions), counted against budget
    mode: str | None = None

    def __post_init__(self) -> None:
        self.ledger.model = f"{self.config.provider}:{self.config.model}"
        self.ledger.currency = self.config.price.currency
        if self.config.structured != "auto":
            self.mode = self.config.structured

    def budget_left(self) -> bool:
        return self.budget is None or self.spent + self.ledger.cost < self.budget

    def _send(self, system, user, schema, schema_name, mode, max_tokens) -> tuple[ChatResult, int]:
        attempt = 0
        while True:
            attempt += 1
            try:
                return self.provider.chat(
                    system, user, schema=schema, schema_name=schema_name, mode=mode,
                    max_tokens=max_tokens,
                ), attempt
            except TransientError as exc:
                if attempt >= self.retry.max_attempts:
                    raise LLMError(f"gave up after {attempt} attempts: {exc}") from exc
                self.sleep(self.retry.delay(attempt, exc.retry_after, self.rng))

    def call(
        self,
        task: str,
        system: str,
        user: str,
        schema_name: str,
        schema: dict[str, Any],
        *,
        items: int = 0,
        max_tokens: int | None = None,
    ) -> Any:
        """One validated JSON answer, or raise (ContextTooLong, OutputTruncated,
        MalformedOutput, LLMError). Every attempt's tokens go to the ledger."""
        max_tokens = max_tokens or self.config.max_output_tokens
        modes = [self.mode] if self.mode else list(MODES)
        last: Exception | None = None
        for mode in modes:
            prompt = completion = attempts = 0
            status = "error"
            try:
                for _ in range(self.retry.parse_retries + 1):
                    result, tries = self._send(system, user, schema, schema_name, mode,
                                               max_tokens)
                    attempts += tries
                    prompt += result.prompt_tokens
                    completion += result.completion_tokens
                    if result.finish_reason == "length":
                        status = "truncated"
                        raise OutputTruncated(
                            f"answer cut off at {result.completion_tokens} tokens"
                        )
                    try:
                        value = _parse_json(result.text)
                        validate(value, schema)
                    except (json.JSONDecodeError, SchemaError) as exc:
                        status = "invalid"
                        last = MalformedOutput(f"{type(exc).__name__}: {str(exc)[:200]}")
                        continue
                    status = "ok"
                    self.mode = mode
                    return value
                raise last or MalformedOutput("no valid answer")
            except UnsupportedMode as exc:
                last = exc
                status = "unsupported"
                continue
            except ContextTooLong:
                status = "too_long"
                raise
            finally:
                self.ledger.record(
                    CallRecord(
                        task=task,
                        prompt_tokens=prompt,
                        completion_tokens=completion,
                        cost=self.config.price.cost(prompt, completion),
                        attempts=max(attempts, 1),
                        mode=mode,
                        status=status,
                        items=items,
                    )
                )
        raise last or LLMError("no structured-output mode worked")


def make_client(config: LLMConfig, *, budget: float | None = None) -> LLMClient:
    """A ready client for ``config`` with the retry policy it asks for."""
    return LLMClient(
        provider=make_provider(config),
        config=config,
        retry=RetryPolicy(max_attempts=config.max_attempts),
        budget=budget,
    )


@dataclass
class ModeCheck:
    mode: str
    ok: bool
    detail: str


def check_modes(client: LLMClient) -> list[ModeCheck]:
    """Try each structured-output mode with a tiny request; report what works."""
    from heard.llm.schemas import SCHEMAS

    out = []
    system = "You are a connection test. Reply with JSON only."
    user = 'Reply with {"ok": true, "echo": "pong"}.'
    for mode in MODES:
        client.mode = mode
        try:
            value = client.call("check", system, user, "heard_ping", SCHEMAS["heard_ping"],
                                max_tokens=50)
            out.append(ModeCheck(mode, True, f"valid answer {json.dumps(value)}"))
        except LLMError as exc:
            out.append(ModeCheck(mode, False, f"{type(exc).__name__}: {str(exc)[:160]}"))
    client.mode = next((c.mode for c in out if c.ok), None)
    return out
