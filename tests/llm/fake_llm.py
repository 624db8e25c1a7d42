"""Real HTTP fake LLM servers on 127.0.0.1: OpenAI-compatible and Anthropic-style.

Answers are computed from the request: the data blocks in the prompt are parsed, ids are
echoed, and themes are chosen by keyword, so tests check real plumbing. Faults are queued
(``server.faults.append("429")``) and consumed one per request. Token counts use Heard's
estimate over every message, so the benchmark compares clients on the same scale.

Unknown schemas (another tool's prompts) get a generic answer built from the JSON schema,
or from ``answer_hook(schema_name, schema, prompt)`` when set.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from heard.llm.budget import MESSAGE_OVERHEAD, count_tokens

_BLOCK = re.compile(r"<<<DATA (\w+)\n(.*?)\nDATA \1>>>", re.S)
_SCHEMA_HINT = re.compile(r"matching this JSON schema:\n(\{.*\})\s*$", re.S)
_OBEY = re.compile(r"(?:label|classify|tag|mark|assign|map)\b[^.]{0,40}\b(?:every|all|each)"
                   r"\b[^.]{0,30}\bas\s+['\"]?([\w-]+)", re.I)
_IGNORE = re.compile(r"ignore (?:all )?(?:previous|prior|above) instructions", re.I)


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]{4,}", text.lower())}


def schema_instance(schema: dict[str, Any], defs: dict[str, Any] | None = None,
                    hint: str = "x") -> Any:
    """A value valid for ``schema`` (objects get every property; arrays one item)."""
    defs = defs if defs is not None else schema.get("$defs", schema.get("definitions", {}))
    if "$ref" in schema:
        return schema_instance(defs[schema["$ref"].split("/")[-1]], defs, hint)
    for combo in ("anyOf", "oneOf", "allOf"):
        if combo in schema:
            options = [s for s in schema[combo] if s.get("type") != "null"] or schema[combo]
            return schema_instance(options[0], defs, hint)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object":
        props = schema.get("properties", {})
        return {k: schema_instance(v, defs, k) for k, v in props.items()}
    if kind == "array":
        n = max(1, schema.get("minItems", 1))
        return [schema_instance(schema.get("items", {}), defs, hint) for _ in range(n)]
    if kind == "integer":
        return max(0, int(schema.get("minimum", 0)))
    if kind == "number":
        return float(schema.get("minimum", 0.0))
    if kind == "boolean":
        return False
    return f"{hint} text"


class FakeLLM:
    """A threaded HTTP server speaking the OpenAI or Anthropic chat API."""

    def __init__(
        self,
        kind: str = "openai",
        *,
        obey_injections: bool = False,
        json_schema: bool = True,
        context_limit: int | None = None,
        hang_seconds: float = 3.0,
        answer_hook: Callable[[str, dict, str], Any] | None = None,
    ) -> None:
        self.kind = kind
        self.obey_injections = obey_injections
        self.json_schema = json_schema
        self.context_limit = context_limit
        self.hang_seconds = hang_seconds
        self.answer_hook = answer_hook
        self.faults: deque[str] = deque()
        self.merges: list[dict[str, Any]] = []
        self.merge_first_two = False  # condensing merges the first two themes it is shown
        self.split_by_stance: list[str] = []  # theme keys condensing splits by stance
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.stats = {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0}
        self._server: ThreadingHTTPServer | None = None

    # ------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}" + ("/v1" if self.kind == "openai" else "")

    def start(self) -> FakeLLM:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                status, payload, headers = fake.handle(self.path, body)
                if status == 0:
                    return
                data = json.dumps(payload).encode("utf-8")
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def reset_stats(self) -> None:
        with self.lock:
            self.stats = {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0}
            self.requests.clear()

    # ------------------------------------------------------------ requests

    def _parse(self, body: dict[str, Any]) -> tuple[str, str, str, dict | None, str]:
        """(system, user, schema_name, schema, mode) from either API's request."""
        messages = body.get("messages", [])
        system = body.get("system", "") if self.kind == "anthropic" else ""
        if isinstance(system, list):
            system = "".join(b.get("text", "") for b in system)
        user_parts = []
        for m in messages:
            content = m.get("content", "")
            if isinstance(content, list):
                content = "".join(b.get("text", "") for b in content if isinstance(b, dict))
            if m.get("role") == "system":
                system += content
            else:
                user_parts.append(content)
        user = "\n".join(user_parts)
        schema, name, mode = None, "", "prompt"
        fmt = body.get("response_format") or {}
        if fmt.get("type") == "json_schema":
            schema = fmt["json_schema"].get("schema")
            name = fmt["json_schema"].get("name", "")
            mode = "json_schema"
        elif body.get("tools"):
            tool = body["tools"][0]
            fn = tool.get("function", tool)
            schema = fn.get("parameters") or fn.get("input_schema")
            name = fn.get("name", "")
            mode = "tools"
        else:
            if fmt.get("type") == "json_object":
                mode = "json_object"
            hint = _SCHEMA_HINT.search(user)
            if hint:
                schema = json.loads(hint.group(1))
                name = _guess_name(schema)
        return system, user, name, schema, mode

    def handle(self, path: str, body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        system, user, name, schema, mode = self._parse(body)
        prompt_tokens = count_tokens(system) + count_tokens(user) + MESSAGE_OVERHEAD * (
            len(body.get("messages", [])) + (1 if system else 0)
        )
        if schema is not None and mode in ("tools", "json_schema"):
            prompt_tokens += count_tokens(json.dumps(schema))
        with self.lock:
            fault = self.faults.popleft() if self.faults else ""
            self.requests.append({"path": path, "body": body, "fault": fault, "mode": mode})
        if fault == "timeout":
            time.sleep(self.hang_seconds)
            return 0, None, {}
        if fault == "429":
            return 429, self._error("rate_limit_error", "slow down"), {"retry-after": "0.01"}
        if fault in ("500", "503"):
            return int(fault), self._error("api_error", "server error"), {}
        if mode == "json_schema" and not self.json_schema:
            return 400, self._error("invalid_request_error",
                                    "response_format json_schema is not supported"), {}
        if self.context_limit is not None and prompt_tokens > self.context_limit:
            return 400, self._error(
                "invalid_request_error",
                f"This model's maximum context length is {self.context_limit} tokens; "
                f"your prompt has {prompt_tokens} (context_length_exceeded)",
            ), {}
        answer = self.answer(name, schema, user)
        text = json.dumps(answer, ensure_ascii=False)
        finish = "stop"
        if fault == "malformed":
            text = text[: max(1, len(text) // 2)] + " oops"
        elif fault == "length":
            text = text[: max(1, len(text) // 3)]
            finish = "length"
        completion = count_tokens(text)
        with self.lock:
            self.stats["calls"] += 1
            self.stats["prompt_tokens"] += prompt_tokens
            self.stats["completion_tokens"] += completion
        if self.kind == "anthropic":
            content: list[dict[str, Any]]
            if mode == "tools" and fault not in ("malformed", "length"):
                content = [{"type": "tool_use", "id": "toolu_1", "name": name, "input": answer}]
            else:
                content = [{"type": "text", "text": text}]
            return 200, {
                "id": "msg_1", "type": "message", "role": "assistant",
                "model": body.get("model"), "content": content,
                "stop_reason": "max_tokens" if finish == "length" else "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": prompt_tokens, "output_tokens": completion},
            }, {}
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if mode == "tools" and fault not in ("malformed", "length"):
            message = {"role": "assistant", "content": None, "tool_calls": [{
                "id": "call_1", "type": "function",
                "function": {"name": name, "arguments": text}}]}
            finish = "tool_calls"
        return 200, {
            "id": "chatcmpl-1", "object": "chat.completion", "created": 0,
            "model": body.get("model"),
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion,
                      "total_tokens": prompt_tokens + completion},
        }, {}

    def _error(self, kind: str, message: str) -> dict[str, Any]:
        if self.kind == "anthropic":
            return {"type": "error", "error": {"type": kind, "message": message}}
        return {"error": {"type": kind, "message": message, "code": None}}

    # ------------------------------------------------------------ answers

    def answer(self, name: str, schema: dict | None, user: str) -> Any:
        blocks = [json.loads(b) for _, b in _BLOCK.findall(user)]
        if name == "heard_mapping":
            return self._mapping(blocks[0], blocks[1])
        if name == "heard_labels":
            return {"themes": [
                {"key": t["key"],
                 "label": "About " + (t["key_phrases"][0] if t["key_phrases"] else t["key"]),
                 "description": "Responses that mention " + ", ".join(t["key_phrases"][:3])}
                for t in blocks[0]]}
        if name == "heard_condense":
            merges = list(self.merges)
            if self.merge_first_two and len(blocks[0]) >= 2:
                first, second = blocks[0][0], blocks[0][1]
                merges.append({"keys": [first["key"], second["key"]],
                               "label": f"{first['label']} and {second['label']}"[:80],
                               "description": "Both themes, merged."})
            return {"merges": merges, "split_by_stance": list(self.split_by_stance)}
        if name == "heard_summary":
            return {"themes": [
                {"key": t["key"], "summary": f"{t['count']} responses on {t['label']}.",
                 "quotes": self._quotes(t["responses"])} for t in blocks[0]]}
        if name == "heard_question_summary":
            responses = [r for t in blocks[0] for r in t["responses"]]
            return {"summary": f"{len(blocks[0])} themes.", "quotes": self._quotes(responses)}
        if name == "heard_ping":
            return {"ok": True, "echo": "pong"}
        if self.answer_hook is not None:
            hooked = self.answer_hook(name, schema or {}, user)
            if hooked is not None:
                return hooked
        return schema_instance(schema or {"type": "object"})

    @staticmethod
    def _quotes(responses: list[dict[str, Any]]) -> list[dict[str, str]]:
        out = []
        for r in responses[:2]:
            out.append({"id": r["id"], "text": r["text"][:40].strip()})
        if responses:  # one invented quote, which Heard must drop
            out.append({"id": responses[0]["id"], "text": "words nobody ever wrote here"})
        return out

    def _mapping(self, themes: list[dict], responses: list[dict]) -> dict[str, Any]:
        forced: str | None = None
        if self.obey_injections:
            for r in responses:
                m = _OBEY.search(r["text"])
                if m:
                    forced = m.group(1)
                elif _IGNORE.search(r["text"]):
                    forced = forced or "HACKED"
        vocab = {t["key"]: _words(t["key"] + " " + t["label"]) for t in themes}
        items = []
        for r in responses:
            words = _words(r["text"])
            chosen = [k for k, v in vocab.items() if v & words]
            if forced is not None:
                chosen = [forced]
            low = r["text"].lower()
            stance = ("disagree" if re.search(r"\b(oppose|against|disagree)\b", low)
                      else "agree" if re.search(r"\b(support|agree)\b", low) else "unclear")
            items.append({"id": r["id"], "themes": chosen, "stance": stance,
                          "evidence_rich": bool(re.search(r"\d", low))})
        return {"items": items}


def _guess_name(schema: dict[str, Any]) -> str:
    props = set(schema.get("properties", {}))
    if props == {"items"}:
        return "heard_mapping"
    if props == {"merges", "split_by_stance"}:
        return "heard_condense"
    if props == {"summary", "quotes"}:
        return "heard_question_summary"
    if props == {"ok", "echo"}:
        return "heard_ping"
    if props == {"themes"}:
        item = schema["properties"]["themes"].get("items", {})
        return "heard_summary" if "summary" in item.get("properties", {}) else "heard_labels"
    return ""
