"""PII redaction: recall on the written test set, false positives on clean sentences."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from heard.privacy.redaction import luhn_ok, redact

PII_SET = Path(__file__).resolve().parent / "fixtures" / "pii" / "pii_sentences.jsonl"


def measure() -> dict:
    """Recall per kind (a value counts as found when it is gone from the output)."""
    rows = [json.loads(line) for line in PII_SET.read_text(encoding="utf-8").splitlines()]
    total, found = Counter(), Counter()
    clean = false_pos = 0
    for row in rows:
        out = redact(row["text"]).text
        for pii in row["pii"]:
            total[pii["kind"]] += 1
            found[pii["kind"]] += pii["value"] not in out
        if not row["pii"]:
            clean += 1
            false_pos += out != row["text"]
    cued = [k for k in total if k != "name_uncued"]
    return {
        "sentences": len(rows),
        "recall": sum(found[k] for k in cued) / sum(total[k] for k in cued),
        "per_kind": {k: (found[k], total[k]) for k in total},
        "clean": clean,
        "false_positive_rate": false_pos / clean,
    }


def test_recall_and_false_positives():
    m = measure()
    assert m["sentences"] >= 200
    assert m["recall"] >= 0.95, m
    for kind in ("email", "phone", "postcode", "ni_number", "card", "name"):
        found, total = m["per_kind"][kind]
        assert total >= 20 and found / total >= 0.9, (kind, found, total)
    assert m["false_positive_rate"] <= 0.05, m


def test_counts_per_kind_and_placeholders():
    r = redact("Mrs Jane Doe (jane@example.com, 07700 900123, SW1A 1AA) NI AB123456C")
    assert r.counts == Counter(name=1, email=1, phone=1, postcode=1, ni_number=1)
    assert "[EMAIL]" in r.text and "Jane" not in r.text


def test_card_numbers_need_luhn():
    assert luhn_ok("4111111111111111")
    assert redact("card 4111 1111 1111 1111").text == "card [CARD]"
    # 16 digits failing Luhn: not a card (and not a phone either: no leading 0 or +)
    assert "[CARD]" not in redact("ref 4111 1111 1111 1112").text


def test_plain_numbers_and_dates_survive():
    text = "In 2019 I lost £12,000; see the report of 12/05/2023, page 14."
    assert redact(text).text == text
