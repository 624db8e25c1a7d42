"""Mapping files: a small TOML file that overrides column detection.

```toml
shape = "wide"                 # or "long"; detected when absent
id = "ResponseId"              # the respondent id column
kind = "Responding as"         # column saying individual / organisation
organisation = "Organisation"  # column holding the organisation's name

[columns]                      # open | closed | demographic | id | ignore
"Q1 text" = "open"
"Age band" = "demographic"

[questions]                    # question text shown for a column (default: the header)
"Q1 text" = "Why do you say that?"

[pairs]                        # open follow-up = the closed question it follows
"Q1 why" = "Q1 agree"

[long]                         # only for shape = "long"
respondent = "respondent_id"
question = "question_id"
text = "answer"
response = "answer_id"         # optional
```
"""

from __future__ import annotations

import difflib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from heard.io.errors import InputError

COLUMN_TYPES = ("open", "closed", "demographic", "id", "ignore")
TOP_KEYS = {"shape", "id", "kind", "organisation", "columns", "questions", "pairs", "long",
            "documents"}  # [documents]: read by heard.io.documents (docs/documents.md)
LONG_KEYS = {"respondent", "question", "text", "response"}


@dataclass
class Mapping:
    """What the user said about the columns; every field is optional."""

    path: Path | None = None
    shape: str | None = None
    id: str | None = None
    kind: str | None = None
    organisation: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    questions: dict[str, str] = field(default_factory=dict)
    pairs: dict[str, str] = field(default_factory=dict)
    long: dict[str, str] = field(default_factory=dict)

    def named_columns(self) -> list[tuple[str, str]]:
        """(setting, column) for every column the mapping names."""
        named = [(f"{k} =", v) for k, v in (("id", self.id), ("kind", self.kind),
                                            ("organisation", self.organisation)) if v]
        named += [("[columns]", c) for c in self.columns]
        named += [("[questions]", c) for c in self.questions]
        named += [("[pairs]", c) for pair in self.pairs.items() for c in pair]
        named += [(f"[long] {k} =", v) for k, v in self.long.items()]
        return named

    def to_dict(self) -> dict:
        return {
            "file": str(self.path) if self.path else None,
            "shape": self.shape,
            "id": self.id,
            "kind": self.kind,
            "organisation": self.organisation,
            "columns": self.columns,
            "questions": self.questions,
            "pairs": self.pairs,
            "long": self.long,
        }


def _strings(value: object, section: str, path: Path) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise InputError(
            f"[{section}] must be a table of \"column\" = \"value\" strings",
            file=path,
            hint='Write e.g. [columns] then "Q1 text" = "open" on its own line.',
        )
    return {str(k): v for k, v in value.items()}


def load_mapping(path: Path) -> Mapping:
    """Read and check a mapping file (column names are checked later, against the data)."""
    if not path.exists():
        raise InputError("mapping file not found", file=path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(
            f"the mapping file is not valid TOML ({exc})",
            file=path,
            hint='Quote column names with spaces: "Q1 text" = "open".',
        ) from None
    unknown = set(data) - TOP_KEYS
    if unknown:
        raise InputError(
            f"unknown setting(s) in the mapping file: {', '.join(sorted(unknown))}",
            file=path,
            hint=f"Known settings: {', '.join(sorted(TOP_KEYS))}. See docs/import.md.",
        )
    mapping = Mapping(path=path)
    for key in ("shape", "id", "kind", "organisation"):
        if key in data:
            if not isinstance(data[key], str):
                raise InputError(f"{key} must be a string", file=path)
            setattr(mapping, key, data[key])
    if mapping.shape not in (None, "wide", "long"):
        raise InputError(
            f"shape = {mapping.shape!r} is not known", file=path, hint='Use "wide" or "long".'
        )
    for section in ("columns", "questions", "pairs", "long"):
        if section in data:
            setattr(mapping, section, _strings(data[section], section, path))
    for column, kind in mapping.columns.items():
        if kind not in COLUMN_TYPES:
            raise InputError(
                f"column {column!r} has the unknown type {kind!r}",
                file=path,
                column=column,
                hint=f"Use one of: {', '.join(COLUMN_TYPES)}.",
            )
    bad_long = set(mapping.long) - LONG_KEYS
    if bad_long:
        raise InputError(
            f"unknown [long] setting(s): {', '.join(sorted(bad_long))}",
            file=path,
            hint=f"Use: {', '.join(sorted(LONG_KEYS))}.",
        )
    if mapping.shape == "long" and not {"respondent", "question", "text"} <= set(mapping.long):
        raise InputError(
            'shape = "long" needs [long] respondent, question and text columns', file=path
        )
    return mapping


def check_mapping_columns(mapping: Mapping, columns: list[str], table_label: str) -> None:
    """Every column the mapping names must exist in the table."""
    for setting, column in mapping.named_columns():
        if column not in columns:
            close = difflib.get_close_matches(column, columns, n=1)
            hint = f"Did you mean {close[0]!r}? " if close else ""
            raise InputError(
                f"{setting} names the column {column!r}, which {table_label} does not have",
                file=mapping.path,
                column=column,
                hint=hint + f"Columns are: {', '.join(columns[:30])}",
            )


# --- a column plan chosen on screen, written as a mapping file --------------------------------

#: The settings that give one column a role (a column named there has that role).
ROLE_SETTINGS = ("id", "kind", "organisation")


def read_mapping_settings(path: Path | None) -> dict:
    """The raw settings of a mapping file (checked by :func:`load_mapping` first), or {}."""
    if path is None:
        return {}
    load_mapping(path)
    return tomllib.loads(path.read_text(encoding="utf-8-sig"))


def with_roles(settings: dict, roles: dict[str, str]) -> dict:
    """``settings`` (a mapping file's) with each column of ``roles`` given that role.

    A role is a column type (``open``, ``closed``, ``demographic``, ``id``, ``ignore``) or
    ``kind`` / ``organisation``; ``id``, ``kind`` and ``organisation`` name one column each.
    """
    out = {key: dict(value) if isinstance(value, dict) else value
           for key, value in settings.items()}
    columns = out.setdefault("columns", {})
    for name, role in roles.items():
        for setting in ROLE_SETTINGS:
            if out.get(setting) == name and role != setting:
                del out[setting]
        if role in ROLE_SETTINGS:
            out[role] = name
            columns.pop(name, None)
        else:
            columns[name] = role
    if not columns:
        del out["columns"]
    return out


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def mapping_toml(settings: dict) -> str:
    """A mapping file's text for ``settings`` (top-level values, then one level of tables)."""
    lines = [f"{key} = {_toml_value(value)}" for key, value in settings.items()
             if not isinstance(value, dict)]
    for key, table in settings.items():
        if isinstance(table, dict):
            lines += ["", f"[{key}]"]
            lines += [f"{json.dumps(str(k))} = {_toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"
