"""JSON schemas of every LLM answer, and a small validator for the subset they use.

The schemas are strict (every property required, no extra properties) so that they work
with OpenAI's ``json_schema`` response format; the validator checks answers in every mode,
because a model that ignores the format (or a server that does not enforce it) is common.
Supported keywords: type, properties, required, additionalProperties, items, enum,
minItems, maxItems, maxLength.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SCHEMAS", "SchemaError", "validate"]


class SchemaError(ValueError):
    """An answer does not match its schema; the message gives the path."""


def _obj(props: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": props,
        "required": list(props),
        "additionalProperties": False,
    }


_STR = {"type": "string"}
_QUOTES = {"type": "array", "items": _obj({"id": _STR, "text": _STR}), "maxItems": 6}

LABELS = _obj(
    {
        "themes": {
            "type": "array",
            "items": _obj(
                {
                    "key": _STR,
                    "label": {"type": "string", "maxLength": 120},
                    "description": {"type": "string", "maxLength": 600},
                }
            ),
        }
    }
)

CONDENSE = _obj(
    {
        "merges": {
            "type": "array",
            "items": _obj(
                {
                    "keys": {"type": "array", "items": _STR, "minItems": 2},
                    "label": {"type": "string", "maxLength": 120},
                    "description": {"type": "string", "maxLength": 600},
                }
            ),
        },
        "split_by_stance": {"type": "array", "items": _STR},
    }
)

SUMMARY = _obj(
    {
        "themes": {
            "type": "array",
            "items": _obj({"key": _STR, "summary": {"type": "string"}, "quotes": _QUOTES}),
        }
    }
)

QUESTION_SUMMARY = _obj({"summary": {"type": "string"}, "quotes": _QUOTES})

MAPPING = _obj(
    {
        "items": {
            "type": "array",
            "items": _obj(
                {
                    "id": _STR,
                    "themes": {"type": "array", "items": _STR},
                    "stance": {"type": "string", "enum": ["agree", "disagree", "unclear"]},
                    "evidence_rich": {"type": "boolean"},
                }
            ),
        }
    }
)

PING = _obj({"ok": {"type": "boolean"}, "echo": _STR})

SCHEMAS: dict[str, dict[str, Any]] = {
    "heard_labels": LABELS,
    "heard_condense": CONDENSE,
    "heard_summary": SUMMARY,
    "heard_question_summary": QUESTION_SUMMARY,
    "heard_mapping": MAPPING,
    "heard_ping": PING,
}

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
    "null": (type(None),),
}


def validate(value: Any, schema: dict[str, Any], path: str = "$") -> None:
    """Raise :class:`SchemaError` when ``value`` does not match ``schema``."""
    kind = schema.get("type")
    if kind is not None:
        kinds = kind if isinstance(kind, list) else [kind]
        ok = any(
            isinstance(value, _TYPES[k]) and not (k in ("integer", "number")
                                                  and isinstance(value, bool))
            for k in kinds
        )
        if not ok:
            raise SchemaError(f"{path}: expected {kind}, got {type(value).__name__}")
    if "enum" in schema and value not in schema["enum"]:
        raise SchemaError(f"{path}: {value!r} is not one of {schema['enum']}")
    if isinstance(value, str) and "maxLength" in schema and len(value) > schema["maxLength"]:
        raise SchemaError(f"{path}: longer than {schema['maxLength']} characters")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                raise SchemaError(f"{path}: missing {name!r}")
        if schema.get("additionalProperties") is False:
            extra = sorted(set(value) - set(props))
            if extra:
                raise SchemaError(f"{path}: unexpected {', '.join(map(repr, extra))}")
        for name, sub in props.items():
            if name in value:
                validate(value[name], sub, f"{path}.{name}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            raise SchemaError(f"{path}: fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            raise SchemaError(f"{path}: more than {schema['maxItems']} items")
        if "items" in schema:
            for i, item in enumerate(value):
                validate(item, schema["items"], f"{path}[{i}]")
