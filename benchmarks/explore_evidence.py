"""Evidence benchmark on gambling_xs: rules on each question, learned q1→q2 and q2→q1."""

from __future__ import annotations

import sys
from pathlib import Path

from sklearn.metrics import accuracy_score, f1_score

sys.path.insert(0, str(Path(__file__).parent))
from _vectors import load  # noqa: E402

from heard.analysis.evidence import EvidenceClassifier, detect_evidence  # noqa: E402


def main() -> None:
    qs = load("gambling_xs")
    for q in qs:
        gold = [e == "YES" for e in q.evidence]
        pred = [f for f, _ in detect_evidence(q.texts)]
        print(f"rules {q.qid}: acc={accuracy_score(gold, pred):.3f} F1={f1_score(gold, pred):.3f}"
              f" (gold YES {sum(gold)}/{len(gold)})")
    for a, b in ((0, 1), (1, 0)):
        ga = [e == "YES" for e in qs[a].evidence]
        gb = [e == "YES" for e in qs[b].evidence]
        m = EvidenceClassifier().fit(qs[a].texts, ga)
        pred = [f for f, _ in m.predict(qs[b].texts)]
        print(f"learned {qs[a].qid}->{qs[b].qid}: acc={accuracy_score(gb, pred):.3f} "
              f"F1={f1_score(gb, pred):.3f}")


if __name__ == "__main__":
    main()
