"""Discovered labels as a tree, with the checks a label must pass (docs/evaluation.md,
"Labels, third round").

Reads the JSON of ``heard themes NAME --json`` or of ``heard evaluate DIR --mode discover
--json OUT`` (its ``details.themes``) and prints each question's parents and their
children, every label followed by what fails: ``SUFFIX`` (a side in brackets after the
words), ``FRAGMENT`` (not :func:`~heard.analysis.labels.publishable`; an answer quoted in
single quotation marks passes), ``REPEAT`` (a parent with a child's label, up to case and
typos) and ``TWIN`` (two siblings alike). The last line counts the labels with a failure,
the parents and the leaves that stand at the top level (no parent: their siblings share no
topic, see "Labels, fifth round").

    python benchmarks/label_lists.py themes.json [more.json ...]
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from heard.analysis.labels import is_taken, label_side, publishable


def _by_question(data: Any) -> dict[str, list[dict[str, Any]]]:
    if isinstance(data, dict):  # heard evaluate --json
        out: dict[str, list[dict[str, Any]]] = {}
        for t in data["details"]["themes"]:
            out.setdefault(t["question_id"], []).append(t)
        return out
    return {q["question"]: [dict(t, size=t["count"]) for t in q["themes"]] for q in data}


_SUFFIXES = (" (agree)", " (disagree)")  # how sided leaves were labelled before


def _words(label: str) -> str:
    """The label without the side it names, as a prefix or a suffix."""
    bare = label_side(label)[1]
    return bare.rsplit(" (", 1)[0] if bare.endswith(_SUFFIXES) else bare


def _fails(label: str, others: list[str]) -> list[str]:
    bare = _words(label)
    out = ["SUFFIX"] if label.endswith(_SUFFIXES) else []
    if not (bare.startswith("\u2018") or publishable(bare)):
        out.append("FRAGMENT")
    if any(is_taken(bare, {_words(o).lower()}) for o in others):
        out.append("TWIN")
    return out


def main(path: str) -> None:
    total = failed = parents = alone = 0
    for question, themes in _by_question(json.load(open(path, encoding="utf-8"))).items():
        print(f"## {question}")
        children: dict[str | None, list[dict[str, Any]]] = {}
        for t in themes:
            children.setdefault(t["parent"], []).append(t)
        for parent in children.get(None, []):
            kids = children.get(parent["key"], [])
            parents += bool(kids)
            alone += not kids
            fails = _fails(parent["label"], [])
            if any(is_taken(parent["label"], {_words(k["label"]).lower()}) for k in kids):
                fails.append("REPEAT")
            rows = [("", parent, fails)]
            for k in kids:
                twins = [o["label"] for o in kids if o is not k]
                rows.append(("  - ", k, _fails(k["label"], twins)))
            for indent, t, fails in rows:
                total += 1
                failed += bool(fails)
                print(f"{indent}{t['label']}  [{t['size']}]  {' '.join(fails)}".rstrip())
    print(f"# {failed} of {total} labels fail a check; {parents} parents, "
          f"{alone} leaves at the top level")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("json", nargs="+", help="heard themes --json or heard evaluate --json")
    for name in parser.parse_args().json:
        main(name)
